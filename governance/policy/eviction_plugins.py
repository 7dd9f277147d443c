"""The eviction plugin protocols: a plugin proposes (replica rows, reason) from a snapshot."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from governance.policy.reasons import EvictionReason
from governance.policy.types import I64, Bool, Snapshot

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


@runtime_checkable
class NodeEvictor(Evictor, Protocol):
    """An evictor that proposes (some of) the replicas on flagged nodes.

    Splitting the proposal lets the planner find the replicas of every such plugin with one pass
    over the replica table; ``propose`` is ``refine(replicas_on(nodes(...)))``. A plugin whose
    flag is one of the compiled `governance.policy.evictors.node_flags.NodeTest` passes also has
    ``node_test(params)`` (that test, or None when it flags nothing): the planner then runs the
    test straight into its flag byte instead of calling ``nodes``.
    """

    def nodes(self, snapshot: Snapshot, params: PolicyParams, now_s: float) -> Bool | None:
        """Flagged nodes (None: none)."""
        ...

    def refine(self, snapshot: Snapshot, params: PolicyParams, now_s: float, rows: I64) -> I64:
        """The proposal among ``rows``, the assigned replicas on flagged nodes (ascending)."""
        ...
