"""Governance cycles through the API: placement spread, dead-node rescheduling, dry-run, restart."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from governance.service.app import create_app
from governance.service.store import save_cycle

ADMIN = {"Authorization": "Bearer operator-token-for-tests-0001"}
SMALL = {"cpu_millicores": 100, "memory_mib": 64}


def _network(api, keys, domains: int = 3, per_domain: int = 2) -> list:
    nodes = []
    for domain in range(domains):
        for _ in range(per_domain):
            key = keys.new()
            api.register(key, domain=domain)
            nodes.append(key)
    return nodes


def _beat(api, keys_alive) -> None:
    for key in keys_alive:
        reply = api.send(key, "POST", f"/v1/nodes/{key.address}/heartbeat", {"used": SMALL})
        assert reply.status_code == 202, reply.text


def _submit(api, owner, replicas: int = 3) -> int:
    body = {"name": "web", "demand": SMALL, "replicas": replicas, "criticality": "low"}
    reply = api.send(owner, "POST", "/v1/services", body)
    assert reply.status_code == 201, reply.text
    assert all(r["node"] is None for r in reply.json()["replicas"])
    return reply.json()["service_id"]  # type: ignore[no-any-return]


def _cycle(api, **params) -> dict:
    reply = api.client.post("/v1/cycles", headers=ADMIN, params=params)
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def _placement(api, service_id: int) -> list:
    return [r["node"] for r in api.client.get(f"/v1/services/{service_id}").json()["replicas"]]


def _domain(api, address: str) -> int:
    return api.client.get(f"/v1/nodes/{address}").json()["failure_domain"]  # type: ignore[no-any-return]


def test_cycles_need_the_operator_token(api) -> None:
    assert api.client.post("/v1/cycles").status_code == 401
    assert (
        api.client.post("/v1/cycles", headers={"Authorization": "Bearer nope"}).status_code == 401
    )


def test_replicas_spread_over_failure_domains(api, keys) -> None:
    nodes = _network(api, keys)
    _beat(api, nodes)
    service = _submit(api, keys.new())
    summary = _cycle(api)
    assert summary["placed"] == 3
    placed = _placement(api, service)
    assert None not in placed
    assert len({_domain(api, a) for a in placed}) == 3


def test_a_dead_nodes_replica_is_rescheduled(api, keys, clock) -> None:
    nodes = _network(api, keys)
    _beat(api, nodes)
    service = _submit(api, keys.new())
    _cycle(api)
    victim = _placement(api, service)[0]
    clock.advance(120.0)  # beyond the default 60 s heartbeat TTL
    _beat(api, [k for k in nodes if k.address != victim])
    summary = _cycle(api)
    assert summary["evictions_by_reason"].get("node_dead") == 1
    after = _placement(api, service)
    assert victim not in after
    assert None not in after


def test_a_dry_run_cycle_changes_nothing(api, keys) -> None:
    nodes = _network(api, keys)
    _beat(api, nodes)
    service = _submit(api, keys.new())
    summary = _cycle(api, dry_run="true")
    assert summary["dry_run"] is True
    assert _placement(api, service) == [None, None, None]


def test_why_not_names_the_failing_filter(api, keys) -> None:
    nodes = _network(api, keys)
    _beat(api, nodes)
    service = _submit(api, keys.new(), replicas=3)
    _cycle(api)
    first = _placement(api, service)[0]
    domain = _domain(api, first)
    twin = next(
        k.address for k in nodes if k.address != first and _domain(api, k.address) == domain
    )
    answer = api.client.get(f"/v1/services/{service}/why-not/{twin}", params={"replica": 1}).json()
    assert answer["feasible"] is False
    assert "same_failure_domain" in answer["failing_filters"]


def test_state_survives_a_restart(api, keys, clock, db_path, make_settings) -> None:
    nodes = _network(api, keys)
    _beat(api, nodes)
    service = _submit(api, keys.new())
    _cycle(api)
    before = _placement(api, service)
    # Reputation takes days to earn: set distinct scores and persist them as a cycle does.
    runtime = api.client.app.state.runtime
    runtime.state.nodes.column("reputation")[:] = [0.1 * (i + 1) for i in range(len(nodes))]
    save_cycle(runtime.engine, runtime.state)
    earned = {
        k.address: api.client.get(f"/v1/nodes/{k.address}").json()["reputation"] for k in nodes
    }
    assert len(set(earned.values())) == len(nodes)
    with TestClient(create_app(make_settings(db_path), clock=clock)) as client:
        for address, score in earned.items():
            assert client.get(f"/v1/nodes/{address}").json()["reputation"] == score
        replicas = client.get(f"/v1/services/{service}").json()["replicas"]
        assert [r["node"] for r in replicas] == before
        held = sum(client.get(f"/v1/nodes/{k.address}").json()["replicas_held"] for k in nodes)
        assert held == 3


def test_a_params_file_drives_the_service(tmp_path, clock, make_settings, keys, signed_client_type):
    params = tmp_path / "policy.toml"
    params.write_text('version = "strict-spread-1"\n[eviction]\nbudget_total = 0\n')
    settings = make_settings(tmp_path / "gov.db", params_file=params)
    with TestClient(create_app(settings, clock=clock)) as client:
        api = signed_client_type(client, clock)
        _beat(api, _network(api, keys))
        _submit(api, keys.new())
        assert _cycle(api)["params_version"] == "strict-spread-1"


def test_a_bad_params_file_names_the_file_and_field(tmp_path, make_settings) -> None:
    params = tmp_path / "bad.toml"
    params.write_text("[eviction]\nbudget_total = -1\n")
    with pytest.raises(ValueError, match=r"bad\.toml.*budget_total|budget_total.*bad\.toml"):
        create_app(make_settings(tmp_path / "gov.db", params_file=params))
