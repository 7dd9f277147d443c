"""In-memory fakes of the token ports (tests, benchmarks, and the conformance suite's reference)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from settlement.ledger.repository import InsufficientCreditError
from settlement.tokens.format import TokenClaims
from settlement.tokens.ports import Revocation


@dataclass
class FixedClock:
    """A clock that says what it is told (tests move it by hand)."""

    now_s: float = 1_800_000_000.0

    def now(self) -> float:
        return self.now_s

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now_s += seconds


@dataclass
class MemoryCreditLedger:
    """Credit balances and applied idempotency keys in dicts."""

    balances: dict[str, int] = field(default_factory=dict)
    pending: dict[str, int] = field(default_factory=dict)
    applied: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def credit_balance(self, address: str) -> int:
        return self.balances.get(address, 0)

    def pending_payouts(self, address: str) -> int:
        return self.pending.get(address, 0)

    def credit(self, address: str, amount_wei: int, idempotency_key: str, reason: str) -> bool:
        with self._lock:
            if idempotency_key in self.applied:
                return False
            self.applied.add(idempotency_key)
            self.balances[address] = self.balances.get(address, 0) + amount_wei
            return True

    def credit_many(self, entries: Sequence[tuple[str, int, str, str]]) -> list[bool]:
        return [self.credit(a, amount, key, reason) for a, amount, key, reason in entries]

    def debit(self, address: str, amount_wei: int, idempotency_key: str, reason: str) -> bool:
        with self._lock:
            if idempotency_key in self.applied:
                return False
            if self.balances.get(address, 0) < amount_wei:
                raise InsufficientCreditError(f"{address} has less than {amount_wei} wei of credit")
            self.applied.add(idempotency_key)
            self.balances[address] = self.balances.get(address, 0) - amount_wei
            return True


@dataclass
class MemoryTokenStore:
    """Issued tokens, refresh markers and revocations in process memory."""

    tokens: dict[bytes, TokenClaims] = field(default_factory=dict)
    refreshed: dict[bytes, bytes] = field(default_factory=dict)
    rows: list[Revocation] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record_issued(self, claims: TokenClaims, parent_id: bytes | None = None) -> None:
        self.tokens[claims.token_id] = claims

    def issued(self, token_id: bytes) -> TokenClaims | None:
        return self.tokens.get(token_id)

    def claim_refresh(self, old_id: bytes, new_id: bytes) -> bool:
        with self._lock:
            if old_id in self.refreshed:
                return False
            self.refreshed[old_id] = new_id
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
        with self._lock:
            seq = len(self.rows) + 1
            self.rows.append(
                Revocation(seq, token_id, subject, cutoff_s, expires_at_s, revoked_at_s, reason)
            )
            return seq

    def revocations_after(self, seq: int, now_s: int) -> Sequence[Revocation]:
        return [row for row in self.rows if row.seq > seq and row.expires_at_s > now_s]


@dataclass
class MemoryScanCursors:
    """Scanner cursors in a dict."""

    cursors: dict[str, int] = field(default_factory=dict)

    def get(self, name: str) -> int | None:
        return self.cursors.get(name)

    def advance(self, name: str, next_block: int) -> None:
        self.cursors[name] = max(next_block, self.cursors.get(name, next_block))
