"""Node registration and reports: signed by the node's key, validated at the edge, never a 500."""

from __future__ import annotations

import pytest


def test_a_registered_node_starts_as_a_newcomer(api, keys) -> None:
    key = keys.new()
    node = api.register(key)
    assert node["address"] == key.address
    assert node["tier"] == "newcomer"
    assert node["reputation"] == 0.0
    assert api.client.get(f"/v1/nodes/{key.address.lower()}").json()["address"] == key.address


def test_registering_the_same_key_twice_conflicts(api, keys) -> None:
    key = keys.new()
    api.register(key)
    reply = api.send(
        key,
        "POST",
        "/v1/nodes",
        {"region": 0, "failure_domain": 0, "capacity": {"cpu_millicores": 1, "memory_mib": 1}},
    )
    assert reply.status_code == 409
    assert reply.json()["error"] == "conflict"


def test_unsigned_requests_are_refused(api, keys) -> None:
    reply = api.client.post("/v1/nodes", json={})
    assert reply.status_code == 401
    assert "sign the request" in reply.json()["detail"]


def test_a_signature_by_another_key_is_refused(api, keys) -> None:
    claimed, actual = keys.new(), keys.new()
    impostor = keys(actual.private_key, claimed.address)
    reply = api.send(
        impostor,
        "POST",
        "/v1/nodes",
        {"region": 0, "failure_domain": 0, "capacity": {"cpu_millicores": 1, "memory_mib": 1}},
    )
    assert reply.status_code == 401
    assert actual.address in reply.json()["detail"]


def test_a_replayed_request_is_refused(api, keys) -> None:
    key = keys.new()
    api.register(key)
    path = f"/v1/nodes/{key.address}/heartbeat"
    body = {"used": {"cpu_millicores": 1, "memory_mib": 1}}
    first = api.send(key, "POST", path, body)
    assert first.status_code == 202
    replay = api.client.post(path, content=first.request.content, headers=first.request.headers)
    assert replay.status_code == 401
    assert "replay" in replay.json()["detail"]


def test_a_tampered_body_is_refused(api, keys) -> None:
    key = keys.new()
    api.register(key)
    path = f"/v1/nodes/{key.address}/heartbeat"
    signed = api.send(key, "POST", path, {"used": {"cpu_millicores": 1, "memory_mib": 1}})
    headers = dict(signed.request.headers)
    headers["x-node-timestamp"] = str(int(headers["x-node-timestamp"]) + 1)
    reply = api.client.post(
        path, content=b'{"used":{"cpu_millicores":0,"memory_mib":0}}', headers=headers
    )
    assert reply.status_code == 401


def test_a_node_cannot_report_for_another(api, keys) -> None:
    mine, theirs = keys.new(), keys.new()
    api.register(mine)
    api.register(theirs)
    reply = api.send(
        mine,
        "POST",
        f"/v1/nodes/{theirs.address}/heartbeat",
        {"used": {"cpu_millicores": 0, "memory_mib": 0}},
    )
    assert reply.status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"region": 0, "failure_domain": 0, "capacity": {"cpu_millicores": -1, "memory_mib": 1}},
            "capacity.cpu_millicores",
        ),
        (
            {
                "region": 0,
                "failure_domain": 0,
                "capacity": {"cpu_millicores": 1, "memory_mib": 1},
                "stake_wei": "1.5",
            },
            "stake_wei",
        ),
        (
            {
                "region": 0,
                "failure_domain": 0,
                "capacity": {"cpu_millicores": 1, "memory_mib": 1},
                "stake_wei": str(2**256),
            },
            "stake_wei",
        ),
        (
            {
                "region": 0,
                "failure_domain": 0,
                "capacity": {"cpu_millicores": 1, "memory_mib": 1},
                "colour": "blue",
            },
            "colour",
        ),
        (
            {"region": -3, "failure_domain": 0, "capacity": {"cpu_millicores": 1, "memory_mib": 1}},
            "region",
        ),
    ],
)
def test_bad_registrations_name_the_field(api, keys, body: dict, field: str) -> None:
    reply = api.send(keys.new(), "POST", "/v1/nodes", body)
    assert reply.status_code == 422
    assert reply.json()["error"] == "invalid_request"
    assert field in reply.json()["detail"]


def test_unknown_node_and_bad_address_are_4xx(api, keys) -> None:
    assert api.client.get(f"/v1/nodes/{keys.new().address}").status_code == 404
    assert api.client.get("/v1/nodes/not-an-address").status_code == 422


def test_non_json_body_is_a_422_not_a_500(api, keys) -> None:
    key = keys.new()
    reply = api.send(key, "POST", "/v1/nodes", None)
    assert reply.status_code == 422
