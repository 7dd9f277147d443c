"""With settlement linked: writes need a scoped token of the signer, and balances are mounted."""

from __future__ import annotations

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
