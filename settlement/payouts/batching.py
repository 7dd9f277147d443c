"""Netting and batching: unsettled usage becomes one payout per payee, then gas-capped batches."""

from __future__ import annotations

import json
import secrets
from collections import defaultdict

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from settlement.ledger.clock import now_ms
from settlement.ledger.models import Batch, OutboxEvent, Payout, UsageEvent
from settlement.ledger.repository import Ledger
from settlement.payouts.states import Finality, PayoutState, check_transition

AMOUNT_MAX_PER_WORD = 2**96 - 1
_CHUNK = 900  # ids per IN (...) list: well under SQLite's bound-parameter limit


def words_needed(amount_wei: int) -> int:
    """Return how many packed words pay `amount_wei` (one word holds at most 2**96 - 1)."""
    return max(1, -(-amount_wei // AMOUNT_MAX_PER_WORD))


def batch_key_of(batch_id: int) -> str:
    """Return the on-chain uint256 batch id of ledger batch `batch_id` as 0x + 64 hex."""
    return f"0x{batch_id:064x}"


def net_unsettled(ledger: Ledger, *, up_to_period: int | None = None) -> int:
    """Net every unsettled usage event (up to a period) into one payout per payee; return the count.

    One DB transaction: either every event is linked to its payout or none is, so a crash cannot
    settle an event twice or lose it.
    """
    return ledger.run(lambda session: _net(session, up_to_period))


def _net(session: Session, up_to_period: int | None) -> int:
    query = select(UsageEvent.id, UsageEvent.payee, UsageEvent.amount_wei, UsageEvent.period).where(
        UsageEvent.payout_id.is_(None)
    )
    if up_to_period is not None:
        query = query.where(UsageEvent.period <= up_to_period)
    # Row locks (PostgreSQL): a second worker netting at the same time skips these events instead
    # of linking them to a payout of its own (SQLite's IMMEDIATE transactions already serialize).
    rows = session.execute(query.order_by(UsageEvent.id).with_for_update(skip_locked=True)).all()
    if not rows:
        return 0
    totals: dict[str, int] = defaultdict(int)
    periods: dict[str, int] = defaultdict(int)
    members: dict[str, list[int]] = defaultdict(list)
    for usage_id, payee, amount, period in rows:
        totals[payee] += amount
        periods[payee] = max(periods[payee], period)
        members[payee].append(usage_id)
    stamp = now_ms()
    payees = list(totals)
    # A payee owed nothing is settled at once: there is nothing to send.
    values = [
        {
            "payee": p,
            "amount_wei": totals[p],
            "period": periods[p],
            "state": PayoutState.PENDING if totals[p] > 0 else PayoutState.FINAL,
            "created_at_ms": stamp,
            "updated_at_ms": stamp,
        }
        for p in payees
    ]
    floor = session.scalar(select(func.max(Payout.id))) or 0
    session.execute(insert(Payout), values)
    # Link each selected event to its payee's payout made just now (ids above `floor`), by id
    # chunks: a handful of statements instead of one UPDATE per event.
    selected = [usage_id for ids in members.values() for usage_id in ids]
    for start in range(0, len(selected), _CHUNK):
        chunk = selected[start : start + _CHUNK]
        # UPDATE ... FROM (PostgreSQL, SQLite >= 3.33): a join the planner can index, where a
        # correlated sub-select degraded to a scan per row on PostgreSQL.
        session.execute(
            update(UsageEvent)
            .where(
                UsageEvent.id.in_(chunk),
                UsageEvent.payout_id.is_(None),
                Payout.payee == UsageEvent.payee,
                Payout.id > floor,
            )
            .values(payout_id=Payout.id)
            .execution_options(synchronize_session=False)
        )
    return len(payees)


def cut_batches(ledger: Ledger, *, chain_id: int, sender: str, max_words: int) -> int:
    """Group PENDING payouts into batches of at most `max_words` words; return batches made."""
    return ledger.run(lambda session: _cut(session, chain_id, sender, max_words))


def _cut(session: Session, chain_id: int, sender: str, max_words: int) -> int:
    pending = session.execute(
        select(Payout.id, Payout.amount_wei, Payout.state)
        .where(Payout.state == PayoutState.PENDING)
        .order_by(Payout.id)
        .with_for_update(skip_locked=True)
    ).all()
    groups: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    used = 0
    for payout_id, amount, state in pending:
        check_transition(state, PayoutState.BATCHED)
        need = words_needed(amount)
        if current and used + need > max_words:
            groups.append(current)
            current, used = [], 0
        current.append((payout_id, amount))
        used += need
    if current:
        groups.append(current)
    stamp = now_ms()
    for group in groups:
        batch = Batch(
            batch_key="0x" + secrets.token_hex(32),  # placeholder until the id is known
            chain_id=chain_id,
            sender=sender,
            state=PayoutState.BATCHED,
            finality=Finality.NONE,
            payee_count=len(group),
            total_wei=sum(amount for _, amount in group),
            send_count=0,
            reorg_count=0,
            created_at_ms=stamp,
            updated_at_ms=stamp,
        )
        session.add(batch)
        session.flush()
        # The contract's batch id is the ledger's batch number (sequential ids share bitmap slots).
        batch.batch_key = batch_key_of(batch.id)
        ids = [pid for pid, _ in group]
        for start in range(0, len(ids), _CHUNK):
            session.execute(
                update(Payout)
                .where(
                    Payout.id.in_(ids[start : start + _CHUNK]), Payout.state == PayoutState.PENDING
                )
                .values(batch_id=batch.id, state=PayoutState.BATCHED, updated_at_ms=stamp)
                .execution_options(synchronize_session=False)
            )
    return len(groups)


def emit(session: Session, topic: str, payload: dict[str, object]) -> None:
    """Append an outbox event in the caller's transaction."""
    session.add(
        OutboxEvent(
            topic=topic,
            payload=json.dumps(payload, sort_keys=True),
            created_at_ms=now_ms(),
            delivered_at_ms=None,
        )
    )
