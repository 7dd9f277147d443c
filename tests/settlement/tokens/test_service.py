"""Token service over both store implementations (memory fake and SQLite via the real ledger)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from settlement.ledger.repository import Ledger, open_ledger
from settlement.ledger.testing import pg_schema_url
from settlement.tokens.format import Keyring
from settlement.tokens.memory import FixedClock, MemoryCreditLedger, MemoryTokenStore
from settlement.tokens.ports import CreditLedger, TokenStore
from settlement.tokens.rules import InvalidTokenRequestError, RefreshRefusal, RefreshRefusedError
from settlement.tokens.scopes import Scope, UnknownScopeError
from settlement.tokens.service import TokenPolicy, TokenService
from settlement.tokens.store import SqlTokenStore, create_tables
from settlement.tokens.verify import Refusal, TokenRefusedError
from settlement.tokens.wiring import LedgerCredits

ALICE = "0x" + "a1" * 20
BOB = "0x" + "b2" * 20
KEYRING = Keyring({"k1": b"k" * 32, "k2": b"q" * 32}, "k1")
POLICY = TokenPolicy(
    default_lifetime_s=600, grace_s=3600, refresh_price_wei=10, leeway_s=5, revocation_ttl_s=2.0
)


@pytest.fixture(params=["memory", "sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def backends(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[TokenStore, CreditLedger]]:
    if request.param == "memory":
        yield MemoryTokenStore(), MemoryCreditLedger()
        return
    with contextlib.ExitStack() as stack:
        if request.param == "pg":
            url = stack.enter_context(pg_schema_url())
        else:
            url = f"sqlite:///{tmp_path / 'ledger.db'}"
        ledger: Ledger = open_ledger(url)
        stack.callback(ledger.close)
        create_tables(ledger.engine)
        yield SqlTokenStore(ledger.engine), LedgerCredits(ledger)


def make_service(
    backends: tuple[TokenStore, CreditLedger], clock: FixedClock, kr: Keyring = KEYRING
) -> TokenService:
    store, credits = backends
    return TokenService(keyring=kr, store=store, credits=credits, clock=clock, policy=POLICY)


def test_issue_then_verify_with_scopes(backends: tuple[TokenStore, CreditLedger]) -> None:
    clock = FixedClock()
    service = make_service(backends, clock)
    issued = service.issue(ALICE.upper().replace("0X", "0x"), ["balances:read"], quota_per_min=5)
    claims = service.verify(issued.token, Scope.BALANCES_READ)
    assert claims.subject_address == ALICE
    assert claims.quota_per_min == 5
    assert claims.expires_at_s - claims.issued_at_s == 600
    assert backends[0].issued(claims.token_id) == claims
    with pytest.raises(TokenRefusedError) as caught:
        service.verify(issued.token, Scope.SERVICES_DEPLOY)
    assert caught.value.reason is Refusal.WRONG_SCOPE


def test_issue_rejects_bad_input(backends: tuple[TokenStore, CreditLedger]) -> None:
    service = make_service(backends, FixedClock())
    with pytest.raises(UnknownScopeError, match="valid scopes"):
        service.issue(ALICE, ["balances:write"])
    with pytest.raises(InvalidTokenRequestError):
        service.issue(ALICE, ["balances:read"], lifetime_s=0)
    with pytest.raises(ValueError, match="address"):
        service.issue("0x1234", ["balances:read"])


def test_expiry_honours_bounded_leeway(backends: tuple[TokenStore, CreditLedger]) -> None:
    clock = FixedClock()
    service = make_service(backends, clock)
    token = service.issue(ALICE, [Scope.NODES_REPORT]).token
    clock.advance(600 + 4)  # within the 5 s leeway
    service.verify(token, Scope.NODES_REPORT)
    clock.advance(1)
    with pytest.raises(TokenRefusedError) as caught:
        service.verify(token, Scope.NODES_REPORT)
    assert caught.value.reason is Refusal.EXPIRED


def test_revoke_takes_effect_in_other_processes_within_one_cache_lifetime(
    backends: tuple[TokenStore, CreditLedger],
) -> None:
    clock = FixedClock()
    admin = make_service(backends, clock)
    worker = make_service(backends, clock)  # another process sharing the same store
    token = admin.issue(ALICE, [Scope.BALANCES_READ]).token
    worker.verify(token, Scope.BALANCES_READ)
    admin.revoke_token(token, reason="leaked")
    clock.advance(POLICY.revocation_ttl_s - 0.5)
    worker.verify(token, Scope.BALANCES_READ)  # still inside the old cache lifetime: allowed
    clock.advance(0.5)
    with pytest.raises(TokenRefusedError) as caught:
        worker.verify(token, Scope.BALANCES_READ)
    assert caught.value.reason is Refusal.REVOKED


def test_revoke_by_id_and_by_subject(backends: tuple[TokenStore, CreditLedger]) -> None:
    clock = FixedClock()
    service = make_service(backends, clock)
    first = service.issue(ALICE, [Scope.BALANCES_READ])
    second = service.issue(ALICE, [Scope.BALANCES_READ])
    bobs = service.issue(BOB, [Scope.BALANCES_READ])
    service.revoke_id(first.claims.token_id_hex)
    service.revocations.reload(clock.now())
    with pytest.raises(TokenRefusedError):
        service.verify(first.token, Scope.BALANCES_READ)
    service.verify(second.token, Scope.BALANCES_READ)
    service.revoke_subject(ALICE)
    service.revocations.reload(clock.now())
    with pytest.raises(TokenRefusedError):
        service.verify(second.token, Scope.BALANCES_READ)
    service.verify(bobs.token, Scope.BALANCES_READ)
    clock.advance(1)
    later = service.issue(ALICE, [Scope.BALANCES_READ])  # issued after the cut-off: valid
    service.verify(later.token, Scope.BALANCES_READ)
    with pytest.raises(TokenRefusedError):
        service.revoke_id("zz")


def test_refresh_needs_credit_and_debits_it_once(backends: tuple[TokenStore, CreditLedger]) -> None:
    clock = FixedClock()
    service = make_service(backends, clock)
    old = service.issue(ALICE, [Scope.SERVICES_DEPLOY], quota_per_min=7)
    clock.advance(700)  # expired, inside the grace window
    with pytest.raises(RefreshRefusedError) as caught:
        service.refresh(old.token)
    assert caught.value.reason is RefreshRefusal.NO_CREDIT
    backends[1].credit(ALICE, 25, "earn:1", "contribution")
    new = service.refresh(old.token)
    assert new.claims.generation == 1
    assert new.claims.scope_mask == old.claims.scope_mask
    assert new.claims.quota_per_min == 7
    assert new.claims.issued_at_s == int(clock.now())
    assert backends[1].credit_balance(ALICE) == 15
    service.verify(new.token, Scope.SERVICES_DEPLOY)
    with pytest.raises(RefreshRefusedError) as again:
        service.refresh(old.token)
    assert again.value.reason is RefreshRefusal.ALREADY_REFRESHED
    assert backends[1].credit_balance(ALICE) == 15  # the retry did not charge again


def test_refresh_closes_after_grace_and_refuses_revoked(
    backends: tuple[TokenStore, CreditLedger],
) -> None:
    clock = FixedClock()
    service = make_service(backends, clock)
    backends[1].credit(ALICE, 1000, "buy:1", "deposit")
    late = service.issue(ALICE, [Scope.BALANCES_READ])
    revoked = service.issue(ALICE, [Scope.BALANCES_READ])
    service.revoke_token(revoked.token)
    with pytest.raises(RefreshRefusedError) as caught:
        service.refresh(revoked.token)
    assert caught.value.reason is RefreshRefusal.REVOKED
    clock.advance(600 + POLICY.grace_s + 1)
    with pytest.raises(RefreshRefusedError) as closed:
        service.refresh(late.token)
    assert closed.value.reason is RefreshRefusal.GRACE_EXPIRED


def test_refresh_of_a_current_token_retires_it(backends: tuple[TokenStore, CreditLedger]) -> None:
    clock = FixedClock()
    service = make_service(backends, clock)
    backends[1].credit(ALICE, 1000, "buy:1", "deposit")
    old = service.issue(ALICE, [Scope.BALANCES_READ])
    new = service.refresh(old.token)
    with pytest.raises(TokenRefusedError):
        service.verify(old.token, Scope.BALANCES_READ)
    service.verify(new.token, Scope.BALANCES_READ)


def test_concurrent_refreshes_make_one_successor_and_one_charge(
    backends: tuple[TokenStore, CreditLedger],
) -> None:
    clock = FixedClock()
    service = make_service(backends, clock)
    backends[1].credit(ALICE, 1000, "buy:1", "deposit")
    old = service.issue(ALICE, [Scope.BALANCES_READ])

    def attempt(_: int) -> str:
        try:
            return service.refresh(old.token).token
        except RefreshRefusedError as error:
            return error.reason.value

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(16)))
    successors = [o for o in outcomes if o.startswith("hb1.")]
    assert len(successors) == 1, outcomes
    assert backends[1].credit_balance(ALICE) == 990


def test_key_rotation(backends: tuple[TokenStore, CreditLedger]) -> None:
    clock = FixedClock()
    old_service = make_service(backends, clock)
    token_k1 = old_service.issue(ALICE, [Scope.BALANCES_READ]).token
    rotated = Keyring(KEYRING.keys, "k2")
    new_service = make_service(backends, clock, rotated)
    token_k2 = new_service.issue(ALICE, [Scope.BALANCES_READ]).token
    assert token_k2.startswith("hb1.k2.")
    new_service.verify(token_k1, Scope.BALANCES_READ)  # old key still verifies until retired
    retired = make_service(backends, clock, Keyring({"k2": KEYRING.keys["k2"]}, "k2"))
    with pytest.raises(TokenRefusedError) as caught:
        retired.verify(token_k1, Scope.BALANCES_READ)
    assert caught.value.reason is Refusal.UNKNOWN_KEY
    retired.verify(token_k2, Scope.BALANCES_READ)


def test_revocation_reaches_a_process_with_its_own_connection(tmp_path: Path) -> None:
    """Two services on separate engines over one database file, as two server processes."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    books = [open_ledger(url), open_ledger(url)]
    create_tables(books[0].engine)
    clock = FixedClock()
    admin, worker = (
        TokenService(
            keyring=KEYRING,
            store=SqlTokenStore(book.engine),
            credits=LedgerCredits(book),
            clock=clock,
            policy=POLICY,
        )
        for book in books
    )
    tokens = [admin.issue(ALICE, [Scope.BALANCES_READ]).token for _ in range(3)]
    for token in tokens:
        worker.verify(token, Scope.BALANCES_READ)
    admin.revoke_token(tokens[0])
    admin.revoke_subject(BOB)
    clock.advance(POLICY.revocation_ttl_s)
    with pytest.raises(TokenRefusedError):
        worker.verify(tokens[0], Scope.BALANCES_READ)
    for token in tokens[1:]:
        worker.verify(token, Scope.BALANCES_READ)
    for book in books:
        book.close()
