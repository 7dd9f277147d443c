"""The write-ahead sender: allocate the nonce in the DB, sign, persist raw tx + hash, then send.

A crash at any point leaves either nothing (the signing transaction rolled back, the nonce unused)
or a persisted signed transaction that the next run re-sends byte for byte. A stuck transaction is
replaced by a fee-bumped one at the SAME nonce, persisted before it is sent, so at most one of a
batch's attempts can ever be mined. Several workers may share a ledger: each step locks the rows
it moves (FOR UPDATE [SKIP LOCKED] on PostgreSQL; SQLite serializes writers).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from settlement.chain.client import ChainClient, RpcError
from settlement.chain.evm import Fees, SignedTx
from settlement.errors import RetryableSettlementError
from settlement.ledger.clock import now_ms
from settlement.ledger.models import Batch, NonceCursor, Payout, TxAttempt
from settlement.ledger.repository import Ledger
from settlement.payouts.states import IllegalTransitionError, PayoutState, check_transition

# Node answers meaning "this exact transaction (or its nonce) is already in": not a failure.
_ALREADY_IN = ("already known", "nonce too low", "already imported", "known transaction")


class PayoutChain(Protocol):
    """The chain-adapter port the sender and confirmer drive (EVM L1 or zkSync)."""

    client: ChainClient
    chain_id: int
    sender: str
    settlement_address: str
    confirmations: int

    def suggest_fees(self) -> Fees: ...

    def sign_batch(
        self, batch_key: str, payees: list[tuple[str, int]], nonce: int, fees: Fees
    ) -> SignedTx: ...

    def batch_executed(self, batch_key: str) -> bool: ...

    def state_after_confirmations(self) -> PayoutState: ...

    def executed_on_l1(self, block_number: int) -> bool: ...


@dataclass(frozen=True, slots=True)
class DueSend:
    """A persisted transaction due for (re)broadcast."""

    batch_id: int
    state: str
    raw_tx: str


def sync_nonce_cursor(ledger: Ledger, chain: PayoutChain) -> int:
    """Create the DB nonce cursor from the chain, or move it past nonces used elsewhere."""
    on_chain = chain.client.transaction_count(chain.sender, "latest")

    def work(session: Session) -> int:
        cursor = _cursor(session, chain)
        if cursor is None:
            session.add(
                NonceCursor(chain_id=chain.chain_id, sender=chain.sender, next_nonce=on_chain)
            )
            return on_chain
        cursor.next_nonce = max(cursor.next_nonce, on_chain)
        return cursor.next_nonce

    return ledger.run(work)


def _cursor(session: Session, chain: PayoutChain) -> NonceCursor | None:
    return session.scalar(
        select(NonceCursor)
        .where(NonceCursor.chain_id == chain.chain_id, NonceCursor.sender == chain.sender)
        .with_for_update()
    )


def sign_batches(ledger: Ledger, chain: PayoutChain, *, limit: int = 64) -> int:
    """Sign up to `limit` BATCHED batches with consecutive DB nonces; persist before any send."""
    fees = chain.suggest_fees()
    return ledger.run(lambda session: _sign(session, chain, fees, limit))


def _sign(session: Session, chain: PayoutChain, fees: Fees, limit: int) -> int:
    batches = session.scalars(
        select(Batch)
        .where(
            Batch.state == PayoutState.BATCHED,
            Batch.chain_id == chain.chain_id,
            Batch.sender == chain.sender,
        )
        .order_by(Batch.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not batches:
        return 0
    cursor = _cursor(session, chain)
    if cursor is None:
        raise RetryableSettlementError("nonce cursor missing: call sync_nonce_cursor first")
    stamp = now_ms()
    for batch in batches:
        payees = session.execute(
            select(Payout.payee, Payout.amount_wei)
            .where(Payout.batch_id == batch.id)
            .order_by(Payout.id)
        ).all()
        signed = chain.sign_batch(
            batch.batch_key, [(p, a) for p, a in payees], cursor.next_nonce, fees
        )
        cursor.next_nonce += 1
        _add_attempt(session, batch.id, signed, stamp)
        move_payouts(session, batch, batch.state, PayoutState.SIGNED, stamp)
        batch.state = check_transition(batch.state, PayoutState.SIGNED)
        batch.nonce, batch.tx_hash, batch.updated_at_ms = signed.nonce, signed.tx_hash, stamp
    return len(batches)


def _add_attempt(session: Session, batch_id: int, signed: SignedTx, stamp: int) -> None:
    session.add(
        TxAttempt(
            batch_id=batch_id,
            nonce=signed.nonce,
            tx_hash=signed.tx_hash,
            raw_tx=signed.raw_tx,
            max_fee_per_gas_wei=signed.fees.max_fee_per_gas_wei,
            max_priority_fee_per_gas_wei=signed.fees.max_priority_fee_per_gas_wei,
            created_at_ms=stamp,
        )
    )


def move_payouts(
    session: Session, batch: Batch, source: str, target: PayoutState, stamp: int
) -> None:
    """Move all of a batch's payouts `source -> target` in one UPDATE; the transition is checked."""
    check_transition(source, target)
    result = session.execute(
        update(Payout)
        .where(Payout.batch_id == batch.id, Payout.state == source)
        .values(state=target, updated_at_ms=stamp)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != batch.payee_count:  # type: ignore[attr-defined]
        raise IllegalTransitionError(
            f"batch {batch.id}: {result.rowcount} of {batch.payee_count} payouts "  # type: ignore[attr-defined]
            f"were in state {source}"
        )


def due_sends(ledger: Ledger, chain: PayoutChain, *, resend_after_ms: int) -> list[DueSend]:
    """Return signed-but-unsent batches and broadcast ones not re-sent for `resend_after_ms`."""
    horizon = now_ms() - resend_after_ms
    with ledger.transaction() as session:
        rows = session.execute(
            select(Batch.id, Batch.state, Batch.last_sent_at_ms, TxAttempt.raw_tx)
            .join(TxAttempt, TxAttempt.tx_hash == Batch.tx_hash)
            .where(
                Batch.chain_id == chain.chain_id,
                Batch.sender == chain.sender,
                Batch.state.in_([PayoutState.SIGNED, PayoutState.BROADCAST]),
            )
            .order_by(Batch.nonce)
        ).all()
    return [
        DueSend(batch_id, state, raw)
        for batch_id, state, sent_at, raw in rows
        if state == PayoutState.SIGNED or (sent_at or 0) <= horizon
    ]


def broadcast(ledger: Ledger, chain: PayoutChain, *, resend_after_ms: int = 2_000) -> int:
    """(Re)send due transactions, then record which ones the node took; return how many."""
    sent: list[int] = []
    for due in due_sends(ledger, chain, resend_after_ms=resend_after_ms):
        try:
            chain.client.send_raw_transaction(due.raw_tx)
        except RpcError as error:
            if not any(marker in error.message.lower() for marker in _ALREADY_IN):
                continue  # e.g. underpriced or a node hiccup: retried next round, bytes unchanged
        except RetryableSettlementError:
            continue  # timeout: it may have gone through; the confirmer will see its receipt
        sent.append(due.batch_id)
    if sent:
        ledger.run(lambda session: _mark_sent(session, sent))
    return len(sent)


def _mark_sent(session: Session, batch_ids: list[int]) -> None:
    stamp = now_ms()
    for batch in session.scalars(select(Batch).where(Batch.id.in_(batch_ids)).with_for_update()):
        if batch.state not in (PayoutState.SIGNED, PayoutState.BROADCAST):
            continue  # the confirmer moved it on meanwhile
        if batch.state == PayoutState.SIGNED:
            move_payouts(session, batch, batch.state, PayoutState.BROADCAST, stamp)
        batch.state = check_transition(batch.state, PayoutState.BROADCAST)
        batch.last_sent_at_ms, batch.send_count = stamp, batch.send_count + 1
        batch.updated_at_ms = stamp


def bump_stuck(ledger: Ledger, chain: PayoutChain, *, stuck_after_ms: int) -> int:
    """Replace BROADCAST transactions unmined for `stuck_after_ms` by a fee bump, same nonce."""
    horizon = now_ms() - stuck_after_ms
    with ledger.transaction() as session:
        stuck = session.scalars(
            select(Batch.id)
            .join(TxAttempt, TxAttempt.batch_id == Batch.id)
            .where(
                Batch.chain_id == chain.chain_id,
                Batch.sender == chain.sender,
                Batch.state == PayoutState.BROADCAST,
            )
            .group_by(Batch.id)
            .having(func.max(TxAttempt.created_at_ms) <= horizon)
        ).all()
    if not stuck:
        return 0
    market = chain.suggest_fees()
    for batch_id in stuck:
        ledger.run(partial(_replace, chain=chain, batch_id=batch_id, market=market))
    broadcast(ledger, chain, resend_after_ms=0)
    return len(stuck)


def _replace(session: Session, *, chain: PayoutChain, batch_id: int, market: Fees) -> None:
    batch = session.get_one(Batch, batch_id, with_for_update=True)
    if batch.state != PayoutState.BROADCAST or batch.nonce is None:
        return
    # Bump from the HIGHEST attempt at this nonce (a node refuses anything less than +10 % on it;
    # bumping an older, cheaper attempt could also re-create an existing transaction byte for byte).
    fees_seen = session.execute(
        select(TxAttempt.max_fee_per_gas_wei, TxAttempt.max_priority_fee_per_gas_wei).where(
            TxAttempt.batch_id == batch_id, TxAttempt.nonce == batch.nonce
        )
    ).all()
    top = Fees(max(f for f, _ in fees_seen), max(p for _, p in fees_seen)).bumped()
    fees = Fees(
        max(top.max_fee_per_gas_wei, market.max_fee_per_gas_wei),
        max(top.max_priority_fee_per_gas_wei, market.max_priority_fee_per_gas_wei),
    )
    payees = session.execute(
        select(Payout.payee, Payout.amount_wei)
        .where(Payout.batch_id == batch_id)
        .order_by(Payout.id)
    ).all()
    signed = chain.sign_batch(batch.batch_key, [(p, a) for p, a in payees], batch.nonce, fees)
    stamp = now_ms()
    _add_attempt(session, batch_id, signed, stamp)
    batch.state = check_transition(batch.state, PayoutState.BROADCAST)
    batch.tx_hash, batch.last_sent_at_ms, batch.updated_at_ms = signed.tx_hash, 0, stamp
