"""SQLAlchemy 2 tables of the ledger: accounts, credits, usage, payouts, batches, nonces, outbox."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from settlement.ledger.amounts import Wei

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with deterministic constraint names (Alembic needs them)."""

    metadata = MetaData(naming_convention=NAMING)


class Account(Base):
    """An account keyed by its lower-case address; `credit_wei` is the off-chain credit balance."""

    __tablename__ = "accounts"
    address: Mapped[str] = mapped_column(String(42), primary_key=True)
    credit_wei: Mapped[int] = mapped_column(Wei(), nullable=False)
    created_at_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)


class LedgerEntry(Base):
    """One journal line moving off-chain credit; `kind` is credit or debit, amount never < 0."""

    __tablename__ = "ledger_entries"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    address: Mapped[str] = mapped_column(ForeignKey("accounts.address"), index=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    amount_wei: Mapped[int] = mapped_column(Wei(), nullable=False)
    reason: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)


class UsageEvent(Base):
    """A metered charge: `payer` (optional) pays `payee`; settled by the payout it is linked to."""

    __tablename__ = "usage_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    payer: Mapped[str | None] = mapped_column(String(42), nullable=True)
    payee: Mapped[str] = mapped_column(String(42), index=True, nullable=False)
    amount_wei: Mapped[int] = mapped_column(Wei(), nullable=False)
    units: Mapped[int] = mapped_column(BigInteger, nullable=False)
    period: Mapped[int] = mapped_column(BigInteger, nullable=False)
    payout_id: Mapped[int | None] = mapped_column(
        ForeignKey("payouts.id"), nullable=True, index=True
    )
    created_at_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)

    __table_args__ = (Index("ix_usage_unsettled", "payout_id", "period"),)


class Payout(Base):
    """What one payee is owed for one settlement run; moves through `settlement.payouts.states`."""

    __tablename__ = "payouts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    payee: Mapped[str] = mapped_column(String(42), index=True, nullable=False)
    amount_wei: Mapped[int] = mapped_column(Wei(), nullable=False)
    period: Mapped[int] = mapped_column(BigInteger, nullable=False)
    state: Mapped[str] = mapped_column(String(24), index=True, nullable=False)
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("batches.id"), nullable=True, index=True
    )
    created_at_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    updated_at_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)


class Batch(Base):
    """One on-chain batch transaction (possibly several fee-bumped attempts at one nonce)."""

    __tablename__ = "batches"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    batch_key: Mapped[str] = mapped_column(String(66), unique=True, nullable=False)
    chain_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sender: Mapped[str] = mapped_column(String(42), nullable=False)
    state: Mapped[str] = mapped_column(String(24), index=True, nullable=False)
    finality: Mapped[str] = mapped_column(String(24), nullable=False)
    payee_count: Mapped[int] = mapped_column(Integer, nullable=False)
    total_wei: Mapped[int] = mapped_column(Wei(), nullable=False)
    nonce: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    block_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    last_sent_at_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    send_count: Mapped[int] = mapped_column(Integer, nullable=False)
    reorg_count: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    updated_at_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)


class TxAttempt(Base):
    """A signed transaction persisted BEFORE broadcast (write-ahead); re-sent byte for byte."""

    __tablename__ = "tx_attempts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True, nullable=False)
    nonce: Mapped[int] = mapped_column(BigInteger, nullable=False)
    tx_hash: Mapped[str] = mapped_column(String(66), unique=True, nullable=False)
    raw_tx: Mapped[str] = mapped_column(Text, nullable=False)
    max_fee_per_gas_wei: Mapped[int] = mapped_column(Wei(), nullable=False)
    max_priority_fee_per_gas_wei: Mapped[int] = mapped_column(Wei(), nullable=False)
    created_at_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)


class NonceCursor(Base):
    """The next nonce of one sender on one chain; allocated only inside a DB transaction."""

    __tablename__ = "nonces"
    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sender: Mapped[str] = mapped_column(String(42), primary_key=True)
    next_nonce: Mapped[int] = mapped_column(BigInteger, nullable=False)


class OutboxEvent(Base):
    """A domain event written in the same transaction as the change it reports (outbox)."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(64), index=True, nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    created_at_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    delivered_at_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


__all__ = [
    "Account",
    "Base",
    "Batch",
    "LedgerEntry",
    "NonceCursor",
    "OutboxEvent",
    "Payout",
    "TxAttempt",
    "UsageEvent",
]
