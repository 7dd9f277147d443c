"""Hypothesis: netting and batching conserve money and settle every usage event exactly once."""

from __future__ import annotations

import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from settlement.chain.evm import AMOUNT_BITS, AMOUNT_MAX, pack_words
from settlement.errors import FatalSettlementError
from settlement.ledger import open_ledger
from settlement.ledger.models import Batch, Payout, UsageEvent
from settlement.payouts.batching import cut_batches, net_unsettled, words_needed

PAYEES = [f"0x{i:040x}" for i in range(1, 6)]
usage = st.lists(
    st.tuples(st.sampled_from(PAYEES), st.integers(min_value=0, max_value=2**100)), max_size=30
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=usage, cut_points=st.sets(st.integers(0, 30)), max_words=st.integers(1, 6))
def test_netting_conserves_money_and_settles_each_event_once(
    tmp_path: Path, events: list[tuple[str, int]], cut_points: set[int], max_words: int
) -> None:
    book = open_ledger(f"sqlite:///{tmp_path / uuid.uuid4().hex}.db")
    try:
        for index, (payee, amount) in enumerate(events):
            if index in cut_points:  # settle mid-stream: later events go to later payouts
                net_unsettled(book)
                cut_batches(book, chain_id=1, sender=PAYEES[0], max_words=max_words)
            book.record_usage(f"e{index}", payee=payee, amount_wei=amount)
        net_unsettled(book)
        net_unsettled(book)  # a second run finds nothing new
        cut_batches(book, chain_id=1, sender=PAYEES[0], max_words=max_words)
        with book.transaction() as session:
            linked = session.execute(select(UsageEvent.payout_id, UsageEvent.amount_wei)).all()
            payouts = {p.id: p for p in session.scalars(select(Payout))}
            batches = session.scalars(select(Batch)).all()
        assert all(payout_id is not None for payout_id, _ in linked)
        per_payout: dict[int, int] = defaultdict(int)
        for payout_id, amount in linked:
            per_payout[int(payout_id)] += amount
        assert {pid: p.amount_wei for pid, p in payouts.items()} == dict(per_payout)
        assert sum(p.amount_wei for p in payouts.values()) == sum(a for _, a in events)
        for batch in batches:
            members = [p for p in payouts.values() if p.batch_id == batch.id]
            assert batch.total_wei == sum(p.amount_wei for p in members)
            words = sum(words_needed(p.amount_wei) for p in members)
            assert words <= max_words or len(members) == 1
        positive = [p for p in payouts.values() if p.amount_wei > 0]
        assert all(p.batch_id is not None for p in positive)  # nothing owed is left unbatched
    finally:
        book.close()


@given(st.lists(st.tuples(st.sampled_from(PAYEES), st.integers(0, 2**104)), max_size=20))
def test_packed_words_carry_every_wei_to_the_right_payee(pairs: list[tuple[str, int]]) -> None:
    totals: dict[str, int] = defaultdict(int)
    for word in pack_words(pairs):
        value = int.from_bytes(word, "big")
        assert 0 < value & AMOUNT_MAX <= AMOUNT_MAX
        totals[f"0x{value >> AMOUNT_BITS:040x}"] += value & AMOUNT_MAX
    expected: dict[str, int] = defaultdict(int)
    for payee, amount in pairs:
        if amount:
            expected[payee] += amount
    assert totals == expected


def test_an_amount_no_transaction_can_carry_is_refused() -> None:
    with pytest.raises(FatalSettlementError):
        pack_words([(PAYEES[0], 2**256 - 1)])
