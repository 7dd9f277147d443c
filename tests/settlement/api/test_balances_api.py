"""The settlement router through FastAPI's TestClient: auth, validation, caching, errors as JSON."""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from settlement.api.app import create_app
from settlement.api.balances import BalanceService, ChainBalances
from settlement.api.routes import settlement_router
from settlement.api.settings import BalancesApiSettings
from settlement.errors import RetryableSettlementError
from settlement.ledger.repository import Ledger, open_ledger
from settlement.tokens.format import Keyring
from settlement.tokens.memory import FixedClock
from settlement.tokens.service import TokenPolicy, TokenService
from settlement.tokens.settings import TokenSettings
from settlement.tokens.store import SqlTokenStore, create_tables
from settlement.tokens.wiring import LedgerCredits

ALICE = "0x" + "a1" * 20
BOB = "0x" + "b2" * 20
KEYRING = Keyring({"k1": b"s" * 32}, "k1")
MAX_WEI = 2**256 - 1


class FakeChain:
    """A chain port whose answers, failures and delay the test controls."""

    def __init__(self) -> None:
        self.balances: dict[str, ChainBalances] = {}
        self.fail = False
        self.delay = threading.Event()
        self.delay.set()
        self.reads = 0

    def read(self, address: str) -> ChainBalances:
        self.reads += 1
        self.delay.wait(5)
        if self.fail:
            raise RetryableSettlementError("rpc down")
        return self.balances.get(address, ChainBalances(0, 0, 7))


class Harness:
    def __init__(self, tmp_path: Path) -> None:
        self.ledger: Ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
        create_tables(self.ledger.engine)
        self.clock = FixedClock()
        self.chain = FakeChain()
        self.tokens = TokenService(
            keyring=KEYRING,
            store=SqlTokenStore(self.ledger.engine),
            credits=LedgerCredits(self.ledger),
            clock=self.clock,
            policy=TokenPolicy(default_lifetime_s=600, grace_s=600, refresh_price_wei=5),
        )
        self.cache_clock = [0.0]
        self.balances = BalanceService(
            self.ledger,
            self.chain,
            chain_ttl_s=60,
            ledger_ttl_s=0,
            timeout_s=0.3,
            clock=lambda: self.cache_clock[0],
        )
        app = FastAPI()
        app.include_router(settlement_router(self.tokens, self.balances))
        self.client = TestClient(app)
        self.client.__enter__()  # one event loop for the whole test, as in a real server

    def bearer(self, *scopes: str, quota: int = 0) -> dict[str, str]:
        token = self.tokens.issue(BOB, scopes or ("balances:read",), quota_per_min=quota).token
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path)
    yield harness
    harness.chain.delay.set()
    harness.client.__exit__(None, None, None)
    harness.balances.close()
    harness.ledger.close()


def test_balances_as_decimal_strings(h: Harness) -> None:
    h.ledger.credit(ALICE, MAX_WEI, idempotency_key="buy:1", reason="deposit")
    h.ledger.record_usage("use:1", payee=ALICE, amount_wei=12)
    h.chain.balances[ALICE] = ChainBalances(token_wei=MAX_WEI, escrow_wei=3, block_number=9)
    response = h.client.get(f"/v1/balances/{ALICE.upper().replace('0X', '0x')}", headers=h.bearer())
    assert response.status_code == 200
    assert response.json() == {
        "address": ALICE,
        "token_balance_wei": str(MAX_WEI),
        "escrow_balance_wei": "3",
        "credit_wei": str(MAX_WEI),
        "pending_payouts_wei": "12",
        "block_number": 9,
        "stale": False,
    }


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "missing_token"),
        ({"Authorization": "Basic abc"}, 401, "missing_token"),
        ({"Authorization": "Bearer hb1.k1.nope"}, 401, "token_malformed"),
        ({"Authorization": "Bearer hb1.k9." + "A" * 104}, 401, "token_unknown_key"),
        ({"Authorization": "Bearer hb1.k1." + "A" * 104}, 401, "token_bad_signature"),
    ],
)
def test_missing_or_bad_tokens_are_401(
    h: Harness, headers: dict[str, str], status: int, code: str
) -> None:
    response = h.client.get(f"/v1/balances/{ALICE}", headers=headers)
    assert (response.status_code, response.json()["error"]) == (status, code)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_non_ascii_header_bytes_are_refused(h: Harness) -> None:
    raw = h.bearer()["Authorization"].encode() + b"\xff\xfe"
    response = h.client.get(f"/v1/balances/{ALICE}", headers=[(b"authorization", raw)])
    assert response.status_code == 401


def test_wrong_scope_is_403_and_expiry_401(h: Harness) -> None:
    deploy_only = h.bearer("services:deploy")
    response = h.client.get(f"/v1/balances/{ALICE}", headers=deploy_only)
    assert (response.status_code, response.json()["error"]) == (403, "token_wrong_scope")
    good = h.bearer()
    h.clock.advance(600 + 31)
    response = h.client.get(f"/v1/balances/{ALICE}", headers=good)
    assert (response.status_code, response.json()["error"]) == (401, "token_expired")


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1, max_size=60).filter(lambda s: s not in {".", ".."}))
def test_any_bad_address_is_a_clean_400(h: Harness, text: str) -> None:
    if text.startswith("0x") and len(text) == 42:
        return  # may be a valid address
    path = "/v1/balances/" + urllib.parse.quote(text, safe="")
    response = h.client.get(path, headers=h.bearer())
    if response.status_code == 404:  # a slash can leave the route: the mounting app's 404
        assert "/" in text
        return
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_address"


def test_quota_is_enforced_with_429(h: Harness) -> None:
    headers = h.bearer(quota=2)
    codes = [h.client.get(f"/v1/balances/{ALICE}", headers=headers).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    h.clock.advance(60)
    assert h.client.get(f"/v1/balances/{ALICE}", headers=headers).status_code == 200


def test_chain_timeout_without_reading_is_503_then_stale_reading(h: Harness) -> None:
    h.chain.delay.clear()  # the node hangs
    response = h.client.get(f"/v1/balances/{ALICE}", headers=h.bearer())
    assert (response.status_code, response.json()["error"]) == (503, "source_unavailable")
    h.chain.delay.set()
    good = h.client.get(f"/v1/balances/{BOB}", headers=h.bearer())
    assert good.json()["stale"] is False
    h.chain.fail = True
    h.cache_clock[0] += 0.9 * 60  # due, but within the stale-while-revalidate window
    assert h.client.get(f"/v1/balances/{BOB}", headers=h.bearer()).json()["stale"] is False
    h.cache_clock[0] += 3 * 60  # too old to serve without a fresh read, which fails
    stale = h.client.get(f"/v1/balances/{BOB}", headers=h.bearer())
    assert stale.status_code == 200
    assert stale.json()["stale"] is True


def test_concurrent_misses_share_one_chain_read(h: Harness) -> None:
    async def burst() -> None:
        await asyncio.gather(*(h.balances.balances(ALICE) for _ in range(50)))

    asyncio.run(burst())
    assert h.chain.reads == 1


def test_refresh_endpoint(h: Harness) -> None:
    old = h.tokens.issue(BOB, ["balances:read"])
    headers = {"Authorization": f"Bearer {old.token}"}
    h.clock.advance(700)  # expired, inside the grace window
    broke = h.client.post("/v1/tokens/refresh", headers=headers)
    assert (broke.status_code, broke.json()["error"]) == (402, "refresh_no_credit")
    h.ledger.credit(BOB, 100, idempotency_key="earn:bob:1", reason="contribution")
    fresh = h.client.post("/v1/tokens/refresh", headers=headers)
    assert fresh.status_code == 201
    assert fresh.json()["generation"] == 1
    again = h.client.post("/v1/tokens/refresh", headers=headers)
    assert (again.status_code, again.json()["error"]) == (409, "refresh_already_refreshed")
    assert h.ledger.credit_balance(BOB) == 95
    new_headers = {"Authorization": f"Bearer {fresh.json()['token']}"}
    assert h.client.get(f"/v1/balances/{ALICE}", headers=new_headers).status_code == 200


def test_issue_and_revoke_need_admin_and_valid_bodies(h: Harness) -> None:
    reader = h.bearer()
    admin = h.bearer("tokens:admin")
    body = {"subject": ALICE, "scopes": ["balances:read"], "lifetime_s": 60}
    assert h.client.post("/v1/tokens", headers=reader, json=body).status_code == 403
    bad = h.client.post("/v1/tokens", headers=admin, json={**body, "scopes": ["x:y"]})
    assert (bad.status_code, bad.json()["error"]) == (400, "bad_request")
    junk = h.client.post("/v1/tokens", headers=admin, content=b"\xff{")
    assert (junk.status_code, junk.json()["error"]) == (422, "invalid_body")
    neg = h.client.post("/v1/tokens", headers=admin, json={**body, "quota_per_min": -1})
    assert neg.status_code == 422
    issued = h.client.post("/v1/tokens", headers=admin, json=body)
    assert issued.status_code == 201
    token = issued.json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert h.client.get(f"/v1/balances/{BOB}", headers=auth).status_code == 200
    both = h.client.post("/v1/tokens/revoke", headers=admin, json={"token": token, "subject": BOB})
    assert both.status_code == 422
    revoked = h.client.post("/v1/tokens/revoke", headers=admin, json={"token": token})
    assert revoked.status_code == 200
    after = h.client.get(f"/v1/balances/{BOB}", headers=auth)
    assert (after.status_code, after.json()["error"]) == (401, "token_revoked")


def test_create_app_from_settings(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    app = create_app(BalancesApiSettings(database_url=url, chain="off"), TokenSettings(mode="dev"))
    ledger = open_ledger(url)
    service = TokenService(
        keyring=TokenSettings(mode="dev").keyring(),
        store=SqlTokenStore(ledger.engine),
        credits=LedgerCredits(ledger),
        clock=FixedClock(time.time()),
    )
    token = service.issue(ALICE, ["balances:read"]).token
    with TestClient(app) as client:
        body = client.get(f"/v1/balances/{ALICE}", headers={"Authorization": f"Bearer {token}"})
        assert body.status_code == 200
        assert body.json()["token_balance_wei"] is None
        assert client.get("/nope").json()["error"] == "http_error"
    ledger.close()


def test_prod_mode_refuses_the_default_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HYPERBRICK_TOKENS_MODE", raising=False)
    with pytest.raises(ValueError, match="empty"):
        TokenSettings()  # prod is the default
    with pytest.raises(ValueError, match="empty"):
        TokenSettings(mode="prod")
    from settlement.tokens.settings import DEV_KEY_HEX

    with pytest.raises(ValueError, match="development key"):
        TokenSettings(mode="prod", keys={"dev": DEV_KEY_HEX})
    with pytest.raises(ValueError, match="bytes"):
        TokenSettings(mode="prod", keys={"k": "ab" * 8}, active_kid="k")
    ok = TokenSettings(mode="prod", keys={"k": "ab" * 32}, active_kid="k")
    assert ok.keyring().active_kid == "k"


def test_unreadable_revocation_list_fails_closed_with_503(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    headers = h.bearer()
    assert h.client.get(f"/v1/balances/{ALICE}", headers=headers).status_code == 200

    def broken(*_: object) -> list[object]:
        raise OperationalError("SELECT", {}, Exception("database is locked"))

    monkeypatch.setattr(h.tokens.store, "revocations_after", broken)
    h.clock.advance(h.tokens.policy.revocation_ttl_s)
    response = h.client.get(f"/v1/balances/{ALICE}", headers=headers)
    assert (response.status_code, response.json()["error"]) == (503, "unavailable")
    monkeypatch.undo()
    assert h.client.get(f"/v1/balances/{ALICE}", headers=headers).status_code == 200


def test_due_reading_is_served_at_once_and_refreshed_in_background(h: Harness) -> None:
    headers = h.bearer()
    assert h.client.get(f"/v1/balances/{ALICE}", headers=headers).status_code == 200
    reads = h.chain.reads
    h.chain.delay.clear()  # the node now hangs: a request that waited for it would get a 503
    h.cache_clock[0] += 1.15 * 60  # past the time to live, inside the stale-while-revalidate window
    response = h.client.get(f"/v1/balances/{ALICE}", headers=headers)
    assert (response.status_code, response.json()["stale"]) == (200, False)
    deadline = time.monotonic() + 5
    while h.chain.reads == reads and time.monotonic() < deadline:
        time.sleep(0.01)
    assert h.chain.reads == reads + 1  # one background refresh started
    h.client.get(f"/v1/balances/{ALICE}", headers=headers)
    time.sleep(0.05)
    assert h.chain.reads == reads + 1  # and only one: it is still in flight
    h.chain.delay.set()
