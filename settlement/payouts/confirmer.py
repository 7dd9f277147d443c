"""The confirmer: receipt -> MINED, K blocks -> FINAL (or SEQUENCER_CONFIRMED), reorg -> BROADCAST.

A batch is final only when its receipt's block is still canonical and K blocks deep. If the receipt
disappears or the block at its height changes hash (a reorg), the batch goes back to BROADCAST and
its persisted bytes are re-sent. A reverted batch releases its payouts to PENDING: the revert rolled
back the contract's batch-id claim, so a new batch may pay them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from settlement.chain.client import Receipt
from settlement.ledger.clock import now_ms
from settlement.ledger.models import Batch, Payout, TxAttempt
from settlement.ledger.repository import Ledger
from settlement.payouts.batching import emit
from settlement.payouts.sender import PayoutChain, move_payouts
from settlement.payouts.states import IN_FLIGHT, Finality, PayoutState, check_transition

# (batch id, state, block number, attempt hash) of one watched attempt.
Watched = tuple[int, str, int | None, str]


@dataclass(slots=True)
class ChainView:
    """What the chain said in one confirmation round."""

    head: int
    # The sender's mined-transaction count, read BEFORE the receipts (so it can only lag them).
    confirmed_nonce: int
    receipts: dict[str, Receipt]
    canonical: dict[int, str | None]
    l1_executed: dict[int, bool] = field(default_factory=dict)


@dataclass(slots=True)
class ConfirmReport:
    """Counts of the transitions one round made."""

    mined: int = 0
    final: int = 0
    sequencer_confirmed: int = 0
    reorged: int = 0
    reverted: int = 0
    resigned: int = 0


def confirm(ledger: Ledger, chain: PayoutChain) -> ConfirmReport:
    """Run one confirmation round over every in-flight batch of this chain and sender."""
    with ledger.transaction() as session:
        rows = session.execute(
            select(Batch.id, Batch.state, Batch.block_number, TxAttempt.tx_hash)
            .join(TxAttempt, TxAttempt.batch_id == Batch.id)
            .where(
                Batch.chain_id == chain.chain_id,
                Batch.sender == chain.sender,
                Batch.state.in_([str(s) for s in IN_FLIGHT]),
            )
        ).all()
    watched: list[Watched] = [(r[0], r[1], r[2], r[3]) for r in rows]
    if not watched:
        return ConfirmReport()
    view = _look(chain, watched)
    return ledger.run(lambda session: _apply(session, chain, view))


def _look(chain: PayoutChain, watched: list[Watched]) -> ChainView:
    confirmed_nonce = chain.client.transaction_count(chain.sender, "latest")
    head = chain.client.block_number()
    receipts = chain.client.receipts(sorted({row[3] for row in watched}))
    heights = {r.block_number for r in receipts.values()}
    heights |= {row[2] for row in watched if row[2] is not None}
    canonical = {h: chain.client.block_hash(h) for h in sorted(heights)}
    view = ChainView(
        head=head, confirmed_nonce=confirmed_nonce, receipts=receipts, canonical=canonical
    )
    for _, state, block, _ in watched:
        if state == PayoutState.SEQUENCER_CONFIRMED and block is not None:
            view.l1_executed[block] = chain.executed_on_l1(block)
    return view


def _apply(session: Session, chain: PayoutChain, view: ChainView) -> ConfirmReport:
    report = ConfirmReport()
    stamp = now_ms()
    batches = session.scalars(
        select(Batch)
        .where(
            Batch.chain_id == chain.chain_id,
            Batch.sender == chain.sender,
            Batch.state.in_([str(s) for s in IN_FLIGHT]),
        )
        .order_by(Batch.id)
        .with_for_update()  # a concurrent confirmer waits, then sees the states this one wrote
    ).all()
    for batch in batches:
        hashes = session.scalars(select(TxAttempt.tx_hash).where(TxAttempt.batch_id == batch.id))
        found = [view.receipts[h] for h in hashes if h in view.receipts]
        # At most one attempt (one nonce) can succeed; prefer it over a reverted re-sign.
        receipt = max(found, key=lambda r: r.status, default=None)
        if receipt is not None and view.canonical.get(receipt.block_number) != receipt.block_hash:
            receipt = None  # a stale receipt from an orphaned block
        _step(session, chain, batch, receipt, view, report, stamp)
    return report


def _step(
    session: Session,
    chain: PayoutChain,
    batch: Batch,
    receipt: Receipt | None,
    view: ChainView,
    report: ConfirmReport,
    stamp: int,
) -> None:
    state = PayoutState(batch.state)
    if receipt is None:
        if _nonce_taken_elsewhere(state, batch, view) and not chain.batch_executed(batch.batch_key):
            # Another transaction of this key used our nonce: no attempt of ours can ever mine.
            # (A node may count our own mined transaction before its receipt is queryable, hence
            # the batch-id check.) Re-sign at a fresh nonce; the one-shot batch id keeps it safe.
            _to(session, batch, PayoutState.BATCHED, stamp)
            batch.nonce = batch.tx_hash = None
            report.resigned += 1
        elif state in (PayoutState.MINED, PayoutState.SEQUENCER_CONFIRMED):
            _to(session, batch, PayoutState.BROADCAST, stamp)
            batch.block_number = batch.block_hash = None
            batch.reorg_count += 1
            batch.last_sent_at_ms = 0  # re-send the same bytes at once
            report.reorged += 1
        return
    if state in (PayoutState.SIGNED, PayoutState.BROADCAST):
        if receipt.status != 1:
            if chain.batch_executed(batch.batch_key):
                return  # executed by an attempt whose receipt we have not seen: wait for it
            _revert(session, batch, stamp)
            report.reverted += 1
            return
        _to(session, batch, PayoutState.MINED, stamp)
        report.mined += 1
    elif batch.block_hash != receipt.block_hash:
        batch.reorg_count += 1  # re-included in another block: count confirmations afresh
    batch.tx_hash, batch.block_number, batch.block_hash = (
        receipt.tx_hash, receipt.block_number, receipt.block_hash,
    )  # fmt: skip
    depth = view.head - receipt.block_number + 1
    if batch.state == PayoutState.MINED and depth >= chain.confirmations:
        target = chain.state_after_confirmations()
        _to(session, batch, target, stamp)
        if target == PayoutState.FINAL:
            _finalize(session, batch, Finality.L1_CONFIRMATIONS, report)
        else:
            batch.finality = Finality.SEQUENCER_CONFIRMED
            report.sequencer_confirmed += 1
    elif batch.state == PayoutState.SEQUENCER_CONFIRMED and view.l1_executed.get(
        receipt.block_number, False
    ):
        _to(session, batch, PayoutState.FINAL, stamp)
        _finalize(session, batch, Finality.EXECUTED_ON_L1, report)


def _nonce_taken_elsewhere(state: PayoutState, batch: Batch, view: ChainView) -> bool:
    return (
        state in (PayoutState.SIGNED, PayoutState.BROADCAST)
        and batch.nonce is not None
        and batch.nonce < view.confirmed_nonce
    )


def _to(session: Session, batch: Batch, target: PayoutState, stamp: int) -> None:
    move_payouts(session, batch, batch.state, target, stamp)
    batch.state = check_transition(batch.state, target)
    batch.updated_at_ms = stamp


def _finalize(session: Session, batch: Batch, level: Finality, report: ConfirmReport) -> None:
    batch.finality = level
    report.final += 1
    emit(
        session,
        "PayoutBatchFinalized",
        {
            "batch_key": batch.batch_key,
            "tx_hash": batch.tx_hash,
            "block_number": batch.block_number,
            "finality": str(level),
            "total_wei": str(batch.total_wei),
            "payees": batch.payee_count,
        },
    )


def _revert(session: Session, batch: Batch, stamp: int) -> None:
    batch.state = check_transition(batch.state, PayoutState.MINED)
    batch.state = check_transition(batch.state, PayoutState.REVERTED)
    batch.updated_at_ms = stamp
    for payout in session.scalars(select(Payout).where(Payout.batch_id == batch.id)):
        # Released, not failed: the revert undid the batch-id claim, so a new batch may pay these.
        payout.state, payout.batch_id, payout.updated_at_ms = PayoutState.PENDING, None, stamp
    emit(session, "PayoutBatchReverted", {"batch_key": batch.batch_key, "tx_hash": batch.tx_hash})
