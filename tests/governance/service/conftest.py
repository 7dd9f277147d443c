"""A governance service on a temporary SQLite file, a manual clock, and keys that sign requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from governance.clock import ManualClock
from governance.service.app import create_app
from governance.service.identity import (
    ADDRESS_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignedRequest,
    sign_request,
)
from governance.service.settings import ServiceSettings

ADMIN = "operator-token-for-tests-0001"


@dataclass
class Key:
    """A node's or owner's key pair."""

    private_key: str
    address: str

    @classmethod
    def new(cls) -> Key:
        account = Account.create()
        return cls("0x" + bytes(account.key).hex(), account.address)


class SignedClient:
    """A TestClient wrapper that signs requests with a key, as a node would."""

    def __init__(self, client: TestClient, clock: ManualClock) -> None:
        self.client = client
        self.clock = clock
        self._last_ms = 0

    def register(self, key: Key, domain: int = 0, cpu: float = 4000.0) -> dict:  # type: ignore[type-arg]
        body = {
            "region": 0,
            "failure_domain": domain,
            "capacity": {"cpu_millicores": cpu, "memory_mib": 8192, "disk_mib": 10000},
        }
        reply = self.send(key, "POST", "/v1/nodes", body)
        assert reply.status_code == 201, reply.text
        return reply.json()  # type: ignore[no-any-return]

    def send(self, key: Key, method: str, path: str, body: object | None = None, bearer: str = ""):  # type: ignore[no-untyped-def]
        raw = b"" if body is None else json.dumps(body).encode()
        stamp = max(int(self.clock.now_s() * 1000), self._last_ms + 1)
        self._last_ms = stamp
        signature = sign_request(key.private_key, SignedRequest(method, path, stamp, raw))
        headers = {
            ADDRESS_HEADER: key.address,
            TIMESTAMP_HEADER: str(stamp),
            SIGNATURE_HEADER: signature,
            "content-type": "application/json",
        }
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        return self.client.request(method, path, content=raw, headers=headers)


def settings_for(db: Path, **overrides: object) -> ServiceSettings:
    values: dict[str, object] = {
        "dev_mode": False,
        "admin_token": ADMIN,
        "database_url": f"sqlite:///{db}",
        "seed": 7,
    }
    values.update(overrides)
    return ServiceSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_800_000_000.0)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "governance.db"


@pytest.fixture
def api(db_path: Path, clock: ManualClock) -> Iterator[SignedClient]:
    with TestClient(create_app(settings_for(db_path), clock=clock)) as client:
        yield SignedClient(client, clock)


@pytest.fixture
def make_settings() -> object:
    """Settings for a service on a given database file (overrides as keywords)."""
    return settings_for


@pytest.fixture
def signed_client_type() -> type[SignedClient]:
    """The signing client class, for tests that build their own app."""
    return SignedClient


@pytest.fixture
def keys() -> type[Key]:
    """The key-pair factory (test modules cannot import conftest under importlib mode)."""
    return Key
