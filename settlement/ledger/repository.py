"""The ledger's repository API: idempotent credits, debits, usage; balances; usage-to-chain traces.

Every write carries an idempotency key; replaying a key with the same arguments returns the first
result (`created=False`), replaying it with different arguments raises IdempotencyConflictError. All
amounts are int wei, validated at this edge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from settlement.errors import FatalSettlementError, RetryableSettlementError
from settlement.ledger.amounts import normalize_address, validate_wei
from settlement.ledger.clock import now_ms
from settlement.ledger.config import LedgerSettings
from settlement.ledger.database import create_ledger_engine, migrate, upsert_insert
from settlement.ledger.models import Account, Batch, LedgerEntry, Payout, UsageEvent
from settlement.payouts.states import UNPAID, PayoutState

T = TypeVar("T")
_RACE_RETRIES = 5


class IdempotencyConflictError(FatalSettlementError, ValueError):
    """An idempotency key was reused with different arguments."""


class InsufficientCreditError(FatalSettlementError, ValueError):
    """A debit would take an account's off-chain credit below zero."""


class UnknownUsageError(FatalSettlementError, KeyError):
    """No usage event carries the given idempotency key."""


@dataclass(frozen=True, slots=True)
class Recorded:
    """The row a write produced (or found, when its idempotency key was already used)."""

    id: int
    created: bool


@dataclass(frozen=True, slots=True)
class UsageInput:
    """One metered charge to record (see `Ledger.record_usage`)."""

    idempotency_key: str
    payee: str
    amount_wei: int
    payer: str | None = None
    units: int = 1
    period: int = 0


@dataclass(frozen=True, slots=True)
class UsageTrace:
    """A usage event followed through its payout and batch to the chain transaction."""

    usage_id: int
    payee: str
    amount_wei: int
    payout_id: int | None
    payout_amount_wei: int | None
    payout_state: str | None
    batch_key: str | None
    tx_hash: str | None
    block_number: int | None
    block_hash: str | None
    finality: str | None


class Ledger:
    """Repository over one ledger database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Yield a session inside one DB transaction (IMMEDIATE on SQLite); commit on success."""
        with self._sessions.begin() as session:
            yield session

    def run(self, work: Callable[[Session], T]) -> T:
        """Run `work` in a transaction, retrying unique-key races and SQLite lock timeouts."""
        for attempt in range(_RACE_RETRIES):
            try:
                with self.transaction() as session:
                    return work(session)
            except IntegrityError:
                # A concurrent writer committed the same idempotency key first: the retry finds it.
                if attempt == _RACE_RETRIES - 1:
                    raise
            except OperationalError as error:
                if attempt == _RACE_RETRIES - 1:
                    raise RetryableSettlementError(f"ledger busy: {error.orig}") from error
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    # -- credit ---------------------------------------------------------------------------------

    def credit(
        self, address: str, amount_wei: int, *, idempotency_key: str, reason: str = "deposit"
    ) -> Recorded:
        """Add off-chain credit to `address` once per idempotency key."""
        return self._move(address, amount_wei, idempotency_key, reason, "credit")

    def debit(
        self, address: str, amount_wei: int, *, idempotency_key: str, reason: str = "spend"
    ) -> Recorded:
        """Take off-chain credit from `address` once per key; refuse to go below zero."""
        return self._move(address, amount_wei, idempotency_key, reason, "debit")

    def credit_many(self, entries: Iterable[tuple[str, int, str, str]]) -> list[bool]:
        """Apply many ``(address, amount_wei, idempotency_key, reason)`` credits in one transaction.

        Returns per entry whether it was applied now (False: its key was applied before, by an
        earlier call or earlier in this batch). All or nothing: a key reused with other arguments
        raises IdempotencyConflictError and applies none of the batch. One round trip per 500
        keys and accounts instead of a transaction per entry.
        """
        rows = []
        for address, amount_wei, key, reason in entries:
            _check_key(key)
            rows.append((normalize_address(address), validate_wei(amount_wei), key, reason))
        if not rows:
            return []
        return self.run(lambda s: _apply_credits(s, rows))

    def _move(self, address: str, amount_wei: int, key: str, reason: str, kind: str) -> Recorded:
        account = normalize_address(address)
        amount = validate_wei(amount_wei)
        _check_key(key)
        return self.run(lambda s: _apply_entry(s, account, amount, key, reason, kind))

    def credit_balance(self, address: str) -> int:
        """Return the off-chain credit of `address` in wei (0 for an unknown account)."""
        account = normalize_address(address)
        with self._sessions() as session:
            value = session.scalar(select(Account.credit_wei).where(Account.address == account))
            return int(value or 0)

    # -- metering -------------------------------------------------------------------------------

    def record_usage(
        self,
        idempotency_key: str,
        *,
        payee: str,
        amount_wei: int,
        payer: str | None = None,
        units: int = 1,
        period: int = 0,
    ) -> Recorded:
        """Meter one charge: debit `payer`'s credit (if given) and owe `payee`, once per key."""
        event = _usage_row(UsageInput(idempotency_key, payee, amount_wei, payer, units, period))
        return self.run(lambda s: _insert_usage(s, event))

    def record_usage_many(self, events: Iterable[UsageInput]) -> int:
        """Meter many charges in one DB transaction (ingestion); return how many were new."""
        rows = [_usage_row(e) for e in events]
        return self.run(lambda s: sum(_insert_usage(s, row).created for row in rows))

    def pending_payouts(self, address: str) -> int:
        """Return what `address` is owed but has not received on-chain with finality, in wei."""
        account = normalize_address(address)
        with self._sessions() as session:
            unsettled = session.scalars(
                select(UsageEvent.amount_wei).where(
                    UsageEvent.payee == account, UsageEvent.payout_id.is_(None)
                )
            ).all()
            in_flight = session.scalars(
                select(Payout.amount_wei).where(
                    Payout.payee == account, Payout.state.in_([str(s) for s in UNPAID])
                )
            ).all()
            return sum(unsettled) + sum(in_flight)

    def paid_out(self, address: str) -> int:
        """Return the sum of FINAL payouts to `address`, in wei."""
        account = normalize_address(address)
        with self._sessions() as session:
            rows = session.scalars(
                select(Payout.amount_wei).where(
                    Payout.payee == account, Payout.state == PayoutState.FINAL
                )
            ).all()
            return sum(rows)

    def usage_trace(self, idempotency_key: str) -> UsageTrace:
        """Follow one usage event to its payout, batch and transaction."""
        with self._sessions() as session:
            usage = session.scalar(
                select(UsageEvent).where(UsageEvent.idempotency_key == idempotency_key)
            )
            if usage is None:
                raise UnknownUsageError(f"no usage event with key {idempotency_key!r}")
            payout = session.get(Payout, usage.payout_id) if usage.payout_id else None
            batch = session.get(Batch, payout.batch_id) if payout and payout.batch_id else None
            return UsageTrace(
                usage_id=usage.id,
                payee=usage.payee,
                amount_wei=usage.amount_wei,
                payout_id=payout.id if payout else None,
                payout_amount_wei=payout.amount_wei if payout else None,
                payout_state=payout.state if payout else None,
                batch_key=batch.batch_key if batch else None,
                tx_hash=batch.tx_hash if batch else None,
                block_number=batch.block_number if batch else None,
                block_hash=batch.block_hash if batch else None,
                finality=batch.finality if batch else None,
            )


def open_ledger(url: str | None = None, *, migrate_schema: bool | None = None) -> Ledger:
    """Open (and by default migrate) the ledger at `url`, or at HYPERBRICK_LEDGER_DATABASE_URL."""
    settings = LedgerSettings() if url is None else LedgerSettings(database_url=url)
    engine = create_ledger_engine(settings.database_url, busy_timeout_s=settings.busy_timeout_s)
    if settings.migrate_on_open if migrate_schema is None else migrate_schema:
        migrate(engine)
    return Ledger(engine)


def _usage_row(event: UsageInput) -> UsageEvent:
    _check_key(event.idempotency_key)
    if event.units < 0 or event.period < 0:
        raise FatalSettlementError("units and period must be >= 0")
    payer = event.payer
    return UsageEvent(
        idempotency_key=event.idempotency_key,
        payer=normalize_address(payer, field="payer") if payer is not None else None,
        payee=normalize_address(event.payee, field="payee"),
        amount_wei=validate_wei(event.amount_wei),
        units=event.units,
        period=event.period,
    )


def _check_key(key: str) -> None:
    if not isinstance(key, str) or not 0 < len(key) <= 200:
        raise FatalSettlementError("idempotency_key must be a non-empty string of <= 200 chars")


def ensure_account(session: Session, address: str) -> Account:
    """Create `address` if absent and return it locked for update (row lock on PostgreSQL)."""
    insert = upsert_insert(session.get_bind().dialect.name)
    session.execute(
        insert(Account)
        .values(address=address, credit_wei=0, created_at_ms=now_ms())
        .on_conflict_do_nothing(index_elements=["address"])
    )
    return session.scalars(
        select(Account).where(Account.address == address).with_for_update()
    ).one()


_IN_CHUNK = 500  # bound parameters per IN (...) query


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


def _apply_credits(session: Session, rows: list[tuple[str, int, str, str]]) -> list[bool]:
    seen: dict[str, tuple[str, int, str, str]] = {}
    for chunk in _chunks([key for _, _, key, _ in rows]):
        entries = select(LedgerEntry).where(LedgerEntry.idempotency_key.in_(chunk))
        for e in session.scalars(entries):
            seen[e.idempotency_key] = (e.address, e.amount_wei, e.kind, e.reason)
    created: list[bool] = []
    fresh: list[tuple[str, int, str, str]] = []
    for address, amount, key, reason in rows:
        line = (address, amount, "credit", reason)
        before = seen.get(key)
        if before is not None:
            if before != line:
                raise IdempotencyConflictError(
                    f"idempotency key {key!r} was used for another entry"
                )
            created.append(False)
            continue
        seen[key] = line
        fresh.append((address, amount, key, reason))
        created.append(True)
    if not fresh:
        return created
    stamp = now_ms()
    # Sorted, so concurrent batches take PostgreSQL's row locks in one order (no deadlock).
    addresses = sorted({address for address, _, _, _ in fresh})
    insert = upsert_insert(session.get_bind().dialect.name)
    session.execute(
        insert(Account).on_conflict_do_nothing(index_elements=["address"]),
        [{"address": a, "credit_wei": 0, "created_at_ms": stamp} for a in addresses],
    )
    accounts: dict[str, Account] = {}
    for chunk in _chunks(addresses):
        locked = (
            select(Account)
            .where(Account.address.in_(chunk))
            .order_by(Account.address)
            .with_for_update()
        )
        accounts.update((a.address, a) for a in session.scalars(locked))
    for address, amount, _, _ in fresh:
        account = accounts[address]
        account.credit_wei = validate_wei(account.credit_wei + amount, field="credit_wei")
    session.add_all(
        LedgerEntry(
            idempotency_key=key,
            address=address,
            kind="credit",
            amount_wei=amount,
            reason=reason,
            created_at_ms=stamp,
        )
        for address, amount, key, reason in fresh
    )
    session.flush()
    return created


def _apply_entry(
    session: Session, address: str, amount: int, key: str, reason: str, kind: str
) -> Recorded:
    existing = session.scalar(select(LedgerEntry).where(LedgerEntry.idempotency_key == key))
    if existing is not None:
        if (existing.address, existing.amount_wei, existing.kind, existing.reason) != (
            address, amount, kind, reason,
        ):  # fmt: skip
            raise IdempotencyConflictError(f"idempotency key {key!r} was used for another entry")
        return Recorded(existing.id, created=False)
    account = ensure_account(session, address)
    if kind == "debit":
        if account.credit_wei < amount:
            raise InsufficientCreditError(
                f"{address} has {account.credit_wei} wei of credit, debit needs {amount}"
            )
        account.credit_wei -= amount
    else:
        account.credit_wei = validate_wei(account.credit_wei + amount, field="credit_wei")
    entry = LedgerEntry(
        idempotency_key=key, address=address, kind=kind, amount_wei=amount, reason=reason,
        created_at_ms=now_ms(),
    )  # fmt: skip
    session.add(entry)
    session.flush()
    return Recorded(entry.id, created=True)


def _insert_usage(session: Session, event: UsageEvent) -> Recorded:
    existing = session.scalar(
        select(UsageEvent).where(UsageEvent.idempotency_key == event.idempotency_key)
    )
    if existing is not None:
        same = (
            existing.payer,
            existing.payee,
            existing.amount_wei,
            existing.units,
            existing.period,
        )
        if same != (event.payer, event.payee, event.amount_wei, event.units, event.period):
            raise IdempotencyConflictError(
                f"idempotency key {event.idempotency_key!r} was used for another usage event"
            )
        return Recorded(existing.id, created=False)
    if event.payer is not None and event.amount_wei > 0:
        _apply_entry(
            session, event.payer, event.amount_wei, f"usage:{event.idempotency_key}", "usage",
            "debit",
        )  # fmt: skip
    ensure_account(session, event.payee)
    event.created_at_ms = now_ms()
    session.add(event)
    session.flush()
    return Recorded(event.id, created=True)
