"""Hypothesis: credit is conserved (balance = credits - debits), never < 0, replays are no-ops."""

from __future__ import annotations

import uuid
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from settlement.ledger import InsufficientCreditError, open_ledger

ADDRESSES = ["0x" + f"{i:02x}" * 20 for i in range(1, 4)]
ops = st.lists(
    st.tuples(
        st.sampled_from(["credit", "debit", "usage"]),
        st.sampled_from(ADDRESSES),
        st.sampled_from(ADDRESSES),
        st.integers(min_value=0, max_value=10**30),
        st.integers(min_value=0, max_value=15),  # small key space: replays happen often
    ),
    max_size=40,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=ops)
def test_credit_is_conserved_and_replays_change_nothing(tmp_path: Path, ops: list) -> None:
    book = open_ledger(f"sqlite:///{tmp_path / uuid.uuid4().hex}.db")
    model = dict.fromkeys(ADDRESSES, 0)
    owed = dict.fromkeys(ADDRESSES, 0)
    seen: dict[str, tuple] = {}
    try:
        for kind, who, other, amount, key_no in ops:
            key = f"{kind}-{key_no}"
            args = (who, other, amount)
            if key in seen and seen[key] != args:
                continue  # a conflicting replay is refused (tested elsewhere)
            first = key not in seen
            try:
                if kind == "credit":
                    book.credit(who, amount, idempotency_key=key)
                elif kind == "debit":
                    book.debit(who, amount, idempotency_key=key)
                else:
                    book.record_usage(key, payer=who, payee=other, amount_wei=amount)
            except InsufficientCreditError:
                assert model[who] < amount
                continue
            seen[key] = args
            if first:
                model[who] += amount if kind == "credit" else -amount
                if kind == "usage":
                    owed[other] += amount
        for address in ADDRESSES:
            assert book.credit_balance(address) == model[address] >= 0
            assert book.pending_payouts(address) == owed[address]
    finally:
        book.close()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amounts=st.lists(st.integers(min_value=0, max_value=10**30), min_size=13, max_size=13),
    batches=st.lists(st.lists(st.integers(min_value=0, max_value=12), max_size=12), max_size=6),
)
def test_credit_many_equals_one_credit_at_a_time(
    tmp_path: Path, amounts: list[int], batches: list[list[int]]
) -> None:
    # A key names its entry (address and amount), as the earn keys do: repeats, no conflicts.
    batched = open_ledger(f"sqlite:///{tmp_path / uuid.uuid4().hex}.db")
    single = open_ledger(f"sqlite:///{tmp_path / uuid.uuid4().hex}.db")
    try:
        for batch in batches:
            entries = [(ADDRESSES[k % 3], amounts[k], f"earn-{k}", "contribution") for k in batch]
            one = [
                single.credit(w, a, idempotency_key=k, reason=r).created for w, a, k, r in entries
            ]
            assert batched.credit_many(entries) == one
            for address in ADDRESSES:
                assert batched.credit_balance(address) == single.credit_balance(address)
    finally:
        batched.close()
        single.close()
