"""Ports of the token service: clock, credit ledger, token store (Protocols; fakes in `memory`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from settlement.tokens.format import TokenClaims


class Clock(Protocol):
    """Wall-clock time in Unix seconds (injected so the rules stay testable)."""

    def now(self) -> float: ...


class CreditLedger(Protocol):
    """Off-chain credit per lower-case 0x address, moved only with idempotency keys."""

    def credit_balance(self, address: str) -> int: ...

    def pending_payouts(self, address: str) -> int: ...

    def credit(self, address: str, amount_wei: int, idempotency_key: str, reason: str) -> bool:
        """Add credit; return False if this idempotency key was already applied."""
        ...

    def debit(self, address: str, amount_wei: int, idempotency_key: str, reason: str) -> bool:
        """Take credit (never below zero); return False if the key was already applied."""
        ...

    def credit_many(self, entries: Sequence[tuple[str, int, str, str]]) -> list[bool]:
        """Add ``(address, amount_wei, idempotency_key, reason)`` credits at once, all or none.

        Returns per entry False where its key was already applied.
        """
        ...


class ScanCursors(Protocol):
    """Where each chain scanner resumes: the first block it has not applied yet, by name."""

    def get(self, name: str) -> int | None: ...

    def advance(self, name: str, next_block: int) -> None:
        """Store ``next_block`` for ``name`` unless a larger one is stored (never moves back)."""
        ...


@dataclass(frozen=True, slots=True)
class Revocation:
    """One revocation row: a token id, or every token of a subject issued at or before a cut-off."""

    seq: int
    token_id: bytes | None
    subject: bytes | None
    cutoff_s: int | None
    expires_at_s: int
    revoked_at_s: int
    reason: str


class TokenStore(Protocol):
    """Issued-token records, one-time refresh markers and revocations shared by every process."""

    def record_issued(self, claims: TokenClaims, parent_id: bytes | None = None) -> None: ...

    def issued(self, token_id: bytes) -> TokenClaims | None: ...

    def claim_refresh(self, old_id: bytes, new_id: bytes) -> bool:
        """Mark `old_id` refreshed by `new_id`; return False if it already was (atomically)."""
        ...

    def add_revocation(
        self,
        *,
        token_id: bytes | None,
        subject: bytes | None,
        cutoff_s: int | None,
        expires_at_s: int,
        revoked_at_s: int,
        reason: str,
    ) -> int: ...

    def revocations_after(self, seq: int, now_s: int) -> Sequence[Revocation]:
        """Return revocation rows with a larger seq that still matter at `now_s`, oldest first."""
        ...
