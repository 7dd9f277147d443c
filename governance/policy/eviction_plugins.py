"""The eviction plugin protocol: a plugin proposes (replica rows, reason) from a snapshot."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from governance.policy.reasons import EvictionReason
from governance.policy.types import I64, Snapshot

if TYPE_CHECKING:
    from governance.policy.params import PolicyParams


class Evictor(Protocol):
    """Proposes replicas to evict, all with one reason."""

    name: str
    reason: EvictionReason
    bypass_budgets: bool  # True only for dead nodes: the replica is already down

    def propose(self, snapshot: Snapshot, params: PolicyParams, now_s: float) -> I64:
        """Replica rows (assigned replicas only) this plugin would evict now."""
        ...
