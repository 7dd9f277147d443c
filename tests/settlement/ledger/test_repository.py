"""Ledger repository: idempotent credits, debits and usage; balances; validation; SQLite and PG."""

from __future__ import annotations

import pytest

from settlement.errors import FatalSettlementError
from settlement.ledger import (
    IdempotencyConflictError,
    InsufficientCreditError,
    Ledger,
)
from settlement.ledger.amounts import InvalidAddressError, InvalidAmountError

ALICE = "0x" + "aa" * 20
BOB = "0x" + "Bb" * 20
MAX = 2**256 - 1


def test_credit_is_idempotent_per_key(ledger: Ledger) -> None:
    first = ledger.credit(ALICE, 10, idempotency_key="dep-1")
    again = ledger.credit(ALICE, 10, idempotency_key="dep-1")
    assert first.created
    assert not again.created
    assert first.id == again.id
    assert ledger.credit_balance(ALICE) == 10


def test_reusing_a_key_with_other_arguments_is_refused(ledger: Ledger) -> None:
    ledger.credit(ALICE, 10, idempotency_key="dep-1")
    with pytest.raises(IdempotencyConflictError):
        ledger.credit(ALICE, 11, idempotency_key="dep-1")
    assert ledger.credit_balance(ALICE) == 10


def test_debit_never_goes_below_zero(ledger: Ledger) -> None:
    ledger.credit(ALICE, 5, idempotency_key="dep")
    with pytest.raises(InsufficientCreditError):
        ledger.debit(ALICE, 6, idempotency_key="spend-1")
    ledger.debit(ALICE, 5, idempotency_key="spend-2")
    assert ledger.credit_balance(ALICE) == 0


def test_uint256_extremes_round_trip(ledger: Ledger) -> None:
    ledger.credit(ALICE, MAX, idempotency_key="huge")
    assert ledger.credit_balance(ALICE) == MAX
    with pytest.raises(InvalidAmountError):
        ledger.credit(ALICE, 1, idempotency_key="overflow")  # the balance itself must stay < 2**256


@pytest.mark.parametrize("bad", [-1, 2**256, 1.0, True, "1", None])
def test_amounts_outside_uint256_or_not_int_are_refused(ledger: Ledger, bad: object) -> None:
    with pytest.raises(InvalidAmountError):
        ledger.credit(ALICE, bad, idempotency_key="bad")  # type: ignore[arg-type]


def test_bad_addresses_are_refused(ledger: Ledger) -> None:
    with pytest.raises(InvalidAddressError):
        ledger.credit("0x1234", 1, idempotency_key="k")


def test_usage_debits_payer_and_is_owed_to_payee(ledger: Ledger) -> None:
    ledger.credit(ALICE, 100, idempotency_key="dep")
    rec = ledger.record_usage("req-1", payer=ALICE, payee=BOB, amount_wei=30)
    again = ledger.record_usage("req-1", payer=ALICE, payee=BOB, amount_wei=30)
    assert rec.created
    assert not again.created
    assert ledger.credit_balance(ALICE) == 70
    assert ledger.pending_payouts(BOB) == 30
    assert ledger.pending_payouts(BOB.lower()) == 30
    trace = ledger.usage_trace("req-1")
    assert trace.payee == BOB.lower()
    assert trace.payout_id is None


def test_usage_without_enough_credit_writes_nothing(ledger: Ledger) -> None:
    with pytest.raises(InsufficientCreditError):
        ledger.record_usage("req-1", payer=ALICE, payee=BOB, amount_wei=1)
    assert ledger.pending_payouts(BOB) == 0
    with pytest.raises(FatalSettlementError):
        ledger.usage_trace("req-1")


def test_usage_key_conflict(ledger: Ledger) -> None:
    ledger.record_usage("req-1", payee=BOB, amount_wei=1)
    with pytest.raises(IdempotencyConflictError):
        ledger.record_usage("req-1", payee=BOB, amount_wei=2)


def test_record_usage_many_is_idempotent_and_atomic(ledger: Ledger) -> None:
    from settlement.ledger import UsageInput

    events = [UsageInput(f"bulk-{i}", BOB, 10) for i in range(5)]
    assert ledger.record_usage_many(events) == 5
    assert ledger.record_usage_many(events) == 0
    with pytest.raises(InsufficientCreditError):  # one bad event: none of the new ones land
        ledger.record_usage_many(
            [UsageInput("bulk-x", BOB, 1), UsageInput("bulk-y", BOB, 1, ALICE)]
        )
    assert ledger.pending_payouts(BOB) == 50


BAD_WEI_STRINGS = ["", "-1", "01", "1.0", "1e3", " 1", str(2**256), "0x10", "\u0661"]


@pytest.mark.parametrize("text", BAD_WEI_STRINGS)
def test_json_wei_strings_are_strict(text: str) -> None:
    from settlement.ledger import parse_wei

    with pytest.raises(InvalidAmountError):
        parse_wei(text)


def test_json_wei_round_trip() -> None:
    from settlement.ledger import format_wei, parse_wei

    for value in (0, 1, 10**18, MAX):
        assert parse_wei(format_wei(value)) == value


def test_credit_many_applies_once_and_reports_repeats(ledger: Ledger) -> None:
    batch = [
        (ALICE, 10, "earn:a:1", "contribution"),
        (BOB, 7, "earn:b:1", "contribution"),
        (ALICE, 10, "earn:a:1", "contribution"),  # a repeat inside the batch
    ]
    assert ledger.credit_many(batch) == [True, True, False]
    assert ledger.credit_many(batch[:2]) == [False, False]  # a replayed batch changes nothing
    assert ledger.credit_balance(ALICE) == 10
    assert ledger.credit_balance(BOB) == 7
    assert ledger.credit_many([]) == []


def test_credit_many_is_all_or_nothing(ledger: Ledger) -> None:
    ledger.credit(ALICE, 10, idempotency_key="dep-1")
    with pytest.raises(IdempotencyConflictError):
        ledger.credit_many([(BOB, 5, "dep-2", "deposit"), (ALICE, 11, "dep-1", "deposit")])
    assert ledger.credit_balance(BOB) == 0  # the batch's first credit was rolled back
    with pytest.raises(InvalidAmountError):
        ledger.credit_many([(BOB, 5, "dep-3", "deposit"), (ALICE, -1, "dep-4", "deposit")])
    assert ledger.credit_balance(BOB) == 0


def test_credit_many_spans_query_chunks(ledger: Ledger) -> None:
    # More keys and accounts than one IN (...) chunk holds.
    addresses = ["0x" + f"{i:040x}" for i in range(1, 1202)]
    batch = [(a, i + 1, f"k{i}", "contribution") for i, a in enumerate(addresses)]
    assert ledger.credit_many(batch[:600]) == [True] * 600
    assert ledger.credit_many(batch) == [False] * 600 + [True] * 601
    assert [ledger.credit_balance(a) for a in addresses[::97]] == [
        i + 1 for i in range(0, len(addresses), 97)
    ]
