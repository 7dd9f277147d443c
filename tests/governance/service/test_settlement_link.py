"""With settlement linked: writes need a scoped token of the signer, and balances are mounted."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from governance.clock import ManualClock
from governance.service.app import create_app
from governance.service.settlement_link import SettlementLink, build_settlement_link
from settlement.api.settings import BalancesApiSettings
from settlement.tokens.settings import TokenSettings


@pytest.fixture
def link(tmp_path: Path) -> SettlementLink:
    balances = BalancesApiSettings(database_url=f"sqlite:///{tmp_path / 'ledger.db'}", chain="off")
    return build_settlement_link(balances, TokenSettings(mode="dev"))


@pytest.fixture
def linked(
    tmp_path: Path, link: SettlementLink, clock: ManualClock, signed_client_type, make_settings
):
    settings = make_settings(tmp_path / "gov.db")
    with TestClient(create_app(settings, clock=clock, link=link)) as client:
        yield signed_client_type(client, clock)


def _registration() -> dict:
    return {"region": 0, "failure_domain": 0, "capacity": {"cpu_millicores": 2000, "memory_mib": 1}}


def test_a_node_write_without_a_token_is_refused(linked, keys) -> None:
    reply = linked.send(keys.new(), "POST", "/v1/nodes", _registration())
    assert reply.status_code == 401
    assert "nodes:report" in reply.json()["detail"]


def test_a_token_with_the_scope_lets_its_subject_register(linked, keys, link) -> None:
    key = keys.new()
    token = link.tokens.issue(key.address, ["nodes:report"]).token
    reply = linked.send(key, "POST", "/v1/nodes", _registration(), bearer=token)
    assert reply.status_code == 201, reply.text


def test_a_token_of_another_subject_or_scope_is_refused(linked, keys, link) -> None:
    key, other = keys.new(), keys.new()
    others = link.tokens.issue(other.address, ["nodes:report"]).token
    reply = linked.send(key, "POST", "/v1/nodes", _registration(), bearer=others)
    assert reply.status_code == 401
    assert other.address.lower() in reply.json()["detail"].lower()
    wrong_scope = link.tokens.issue(key.address, ["balances:read"]).token
    reply = linked.send(key, "POST", "/v1/nodes", _registration(), bearer=wrong_scope)
    assert reply.status_code == 401


def test_a_revoked_token_is_refused(linked, keys, link) -> None:
    key = keys.new()
    issued = link.tokens.issue(key.address, ["nodes:report"])
    link.tokens.revoke_token(issued.token)
    reply = linked.send(key, "POST", "/v1/nodes", _registration(), bearer=issued.token)
    assert reply.status_code == 401


def test_balances_are_served_by_the_governance_service(linked, keys, link) -> None:
    key = keys.new()
    reader = link.tokens.issue(key.address, ["balances:read"]).token
    reply = linked.client.get(
        f"/v1/balances/{key.address}", headers={"Authorization": f"Bearer {reader}"}
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["credit_wei"] == "0"
    assert linked.client.get(f"/v1/balances/{key.address}").status_code == 401


def test_a_cycle_credits_nodes_for_capacity_kept_up(linked, keys, link, clock) -> None:
    key = keys.new()
    token = link.tokens.issue(key.address, ["nodes:report", "balances:read"]).token
    assert linked.send(key, "POST", "/v1/nodes", _registration(), bearer=token).status_code == 201
    clock.advance(10.0)
    beat = {"used": {"cpu_millicores": 0, "memory_mib": 0}}
    path = f"/v1/nodes/{key.address}/heartbeat"
    assert linked.send(key, "POST", path, beat, bearer=token).status_code == 202
    admin = {"Authorization": "Bearer operator-token-for-tests-0001"}
    assert linked.client.post("/v1/cycles", headers=admin).status_code == 200
    credit = link.credits.credit_balance(key.address)
    assert credit > 0
    # The same period is credited once: a repeat of the crediting adds nothing.
    uptime = linked.client.app.state.runtime.state.last_observations.uptime_fraction
    runtime = linked.client.app.state.runtime
    period = int(runtime.state.last_plan.now_s)
    assert link.credit_contributions(runtime.state, uptime, period=period) == 0
    assert link.credits.credit_balance(key.address) == credit


def test_an_expired_owner_token_marks_the_service_unpaid_until_renewed(
    tmp_path: Path, link: SettlementLink, signed_client_type, make_settings, keys
) -> None:
    clock = ManualClock(time.time())
    settings = make_settings(tmp_path / "gov.db")
    with TestClient(create_app(settings, clock=clock, link=link)) as client:
        api = signed_client_type(client, clock)
        nodes = []
        for domain in range(2):
            node = keys.new()
            token = link.tokens.issue(node.address, ["nodes:report"]).token
            body = _registration() | {"failure_domain": domain}
            assert api.send(node, "POST", "/v1/nodes", body, bearer=token).status_code == 201
            nodes.append((node, token))
        owner = keys.new()
        short = link.tokens.issue(owner.address, ["services:deploy"], lifetime_s=60).token
        service = {
            "name": "api",
            "demand": {"cpu_millicores": 10, "memory_mib": 0},
            "criticality": "low",
        }
        reply = api.send(owner, "POST", "/v1/services", service, bearer=short)
        assert reply.status_code == 201, reply.text
        service_id = reply.json()["service_id"]
        admin = {"Authorization": "Bearer operator-token-for-tests-0001"}
        assert client.post("/v1/cycles", headers=admin).json()["placed"] == 1
        clock.advance(120.0)
        beat = {"used": {"cpu_millicores": 0, "memory_mib": 0}}
        for node, token in nodes:
            path = f"/v1/nodes/{node.address}/heartbeat"
            assert api.send(node, "POST", path, beat, bearer=token).status_code == 202
        summary = client.post("/v1/cycles", headers=admin).json()
        assert summary["evictions_by_reason"].get("service_unpaid") == 1
        fresh = link.tokens.issue(owner.address, ["services:deploy"]).token
        renewed = api.send(owner, "POST", f"/v1/services/{service_id}/renew", None, bearer=fresh)
        assert renewed.status_code == 200, renewed.text
        runtime = client.app.state.runtime
        runtime.state.refresh_payments(clock.now_s())
        assert int(runtime.state.snapshot(clock.now_s()).services.payment[0]) == 0


def test_the_balances_route_is_in_the_openapi_document(linked) -> None:
    paths = linked.client.get("/openapi.json").json()["paths"]
    assert "/v1/balances/{address}" in paths
    assert "/v1/nodes" in paths
