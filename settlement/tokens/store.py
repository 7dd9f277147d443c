"""SQL token store and the per-process revocation cache that makes a revoke effective everywhere.

The tables live on this module's own MetaData and are created with `create_all` in the ledger's
database: the ledger's Alembic history belongs to the ledger, and these tables (tokens issued,
refreshed and revoked; the chain scanners' cursors) are additive and never altered in place (a new
layout would get new table names). Every service process reads revocations from the shared
database at most `ttl_s` apart, so a revoke takes effect everywhere within one cache lifetime.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    case,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from settlement.errors import RetryableSettlementError
from settlement.ledger.database import upsert_insert
from settlement.tokens.format import TokenClaims
from settlement.tokens.ports import Clock, Revocation, TokenStore
from settlement.tokens.verify import RevocationSet, Verifier

METADATA = MetaData()
BigId = BigInteger().with_variant(Integer(), "sqlite")

issued_tokens = Table(
    "token_issued",
    METADATA,
    Column("token_id", LargeBinary(16), primary_key=True),
    Column("kid", String(16), nullable=False),
    Column("subject", LargeBinary(20), nullable=False, index=True),
    Column("issued_at_s", BigInteger, nullable=False),
    Column("expires_at_s", BigInteger, nullable=False),
    Column("scope_mask", BigInteger, nullable=False),
    Column("quota_per_min", BigInteger, nullable=False),
    Column("generation", Integer, nullable=False),
    Column("parent_id", LargeBinary(16), nullable=True),
)
# A primary key on the old token id is what makes "refresh at most once" atomic on any database.
token_refreshes = Table(
    "token_refreshes",
    METADATA,
    Column("old_token_id", LargeBinary(16), primary_key=True),
    Column("new_token_id", LargeBinary(16), nullable=False),
)
token_revocations = Table(
    "token_revocations",
    METADATA,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("token_id", LargeBinary(16), nullable=True),
    Column("subject", LargeBinary(20), nullable=True),
    Column("cutoff_s", BigInteger, nullable=True),
    Column("expires_at_s", BigInteger, nullable=False, index=True),
    Column("revoked_at_s", BigInteger, nullable=False),
    Column("reason", String(200), nullable=False),
)


# Where each chain scanner (the deposit watcher) resumes after a restart.
scan_cursors = Table(
    "scan_cursors",
    METADATA,
    Column("name", String(200), primary_key=True),
    Column("next_block", BigInteger, nullable=False),
)


def create_tables(engine: Engine) -> None:
    """Create the token tables if they are missing (idempotent)."""
    METADATA.create_all(engine)


class SqlTokenStore:
    """`TokenStore` on SQLAlchemy Core (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record_issued(self, claims: TokenClaims, parent_id: bytes | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(issued_tokens).values(
                    token_id=claims.token_id,
                    kid=claims.kid,
                    subject=claims.subject,
                    issued_at_s=claims.issued_at_s,
                    expires_at_s=claims.expires_at_s,
                    scope_mask=claims.scope_mask,
                    quota_per_min=claims.quota_per_min,
                    generation=claims.generation,
                    parent_id=parent_id,
                )
            )

    def issued(self, token_id: bytes) -> TokenClaims | None:
        t = issued_tokens.c
        query = select(
            t.kid,
            t.token_id,
            t.subject,
            t.issued_at_s,
            t.expires_at_s,
            t.scope_mask,
            t.quota_per_min,
            t.generation,
        ).where(t.token_id == token_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else TokenClaims(*row)

    def claim_refresh(self, old_id: bytes, new_id: bytes) -> bool:
        try:
            with self.engine.begin() as conn:
                values = {"old_token_id": old_id, "new_token_id": new_id}
                conn.execute(insert(token_refreshes).values(**values))
        except IntegrityError:
            return False
        return True

    def add_revocation(
        self,
        *,
        token_id: bytes | None,
        subject: bytes | None,
        cutoff_s: int | None,
        expires_at_s: int,
        revoked_at_s: int,
        reason: str,
    ) -> int:
        values: dict[str, Any] = {
            "token_id": token_id,
            "subject": subject,
            "cutoff_s": cutoff_s,
            "expires_at_s": expires_at_s,
            "revoked_at_s": revoked_at_s,
            "reason": reason[:200],
        }
        with self.engine.begin() as conn:
            result = conn.execute(insert(token_revocations).values(**values))
            key = result.inserted_primary_key
        return int(key[0]) if key is not None else 0

    def revocations_after(self, seq: int, now_s: int) -> Sequence[Revocation]:
        t = token_revocations.c
        query = (
            select(
                t.seq,
                t.token_id,
                t.subject,
                t.cutoff_s,
                t.expires_at_s,
                t.revoked_at_s,
                t.reason,
            )
            .where(t.seq > seq, t.expires_at_s > now_s)
            .order_by(t.seq)
        )
        with self.engine.connect() as conn:
            return [Revocation(*row) for row in conn.execute(query)]


class RevocationCache:
    """Keeps a verifier's revocation set at most `ttl_s` behind the shared store.

    Reads are incremental by sequence number, re-reading an overlap of recent rows because on
    PostgreSQL a row with a lower sequence number can commit after a higher one; every
    `full_reload_every` loads it reloads everything, which also forgets expired entries.
    """

    OVERLAP_ROWS = 1_000

    def __init__(
        self,
        store: TokenStore,
        verifier: Verifier,
        clock: Clock,
        ttl_s: float = 5.0,
        full_reload_every: int = 12,
    ) -> None:
        self.store = store
        self.verifier = verifier
        self.clock = clock
        self.ttl_s = ttl_s
        self.full_reload_every = full_reload_every
        self._loaded_at_s = float("-inf")
        self._cursor = 0
        self._loads = 0
        self._ids: dict[bytes, int] = {}
        self._cutoffs: dict[bytes, int] = {}
        self._lock = threading.Lock()

    def due(self) -> bool:
        """Return whether the set is older than `ttl_s` (an async caller reloads off-loop)."""
        return self.clock.now() - self._loaded_at_s >= self.ttl_s

    def maybe_reload(self) -> bool:
        """Reload if the set is older than `ttl_s`; return whether it reloaded."""
        now_s = self.clock.now()
        if now_s - self._loaded_at_s < self.ttl_s:
            return False
        self.reload(now_s)
        return True

    def invalidate(self) -> None:
        """Make the next `maybe_reload` read the store (after this process revoked something)."""
        self._loaded_at_s = float("-inf")

    def reload(self, now_s: float) -> None:
        """Fetch new revocations from the store and swap a fresh set into the verifier."""
        # Refreshes run in worker threads (the API's periodic reload, a token refresh): one at a
        # time, so the dicts are never read while another thread fills them.
        with self._lock:
            self._reload_locked(now_s)

    def _reload_locked(self, now_s: float) -> None:
        full = self._loads % self.full_reload_every == 0
        if full:
            self._ids, self._cutoffs, self._cursor = {}, {}, 0
        try:
            rows = self.store.revocations_after(
                max(0, self._cursor - self.OVERLAP_ROWS), int(now_s)
            )
        except SQLAlchemyError as error:
            # Fail closed: no request is verified against a set we could not refresh in time.
            raise RetryableSettlementError(f"revocation list unavailable: {error}") from error
        for row in rows:
            if row.token_id is not None:
                self._ids[row.token_id] = row.expires_at_s
            if row.subject is not None and row.cutoff_s is not None:
                self._cutoffs[row.subject] = max(row.cutoff_s, self._cutoffs.get(row.subject, 0))
            self._cursor = max(self._cursor, row.seq)
        self.verifier.revocations = RevocationSet(frozenset(self._ids), dict(self._cutoffs))
        self._loaded_at_s = now_s
        self._loads += 1


class SqlScanCursors:
    """`ScanCursors` in the ledger's database (the token tables' `scan_cursors`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, name: str) -> int | None:
        query = select(scan_cursors.c.next_block).where(scan_cursors.c.name == name)
        with self.engine.connect() as conn:
            value = conn.execute(query).scalar()
        return None if value is None else int(value)

    def advance(self, name: str, next_block: int) -> None:
        insert_row = upsert_insert(self.engine.dialect.name)(scan_cursors)
        statement = insert_row.values(name=name, next_block=next_block)
        newer = statement.excluded.next_block > scan_cursors.c.next_block
        statement = statement.on_conflict_do_update(
            index_elements=[scan_cursors.c.name],
            set_={
                "next_block": case(
                    (newer, statement.excluded.next_block), else_=scan_cursors.c.next_block
                )
            },
        )
        with self.engine.begin() as conn:
            conn.execute(statement)
