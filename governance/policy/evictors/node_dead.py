"""Eviction: replicas on dead nodes (heartbeat older than the TTL, or reported unhealthy)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from governance.policy.evictors.common import replicas_on
from governance.policy.evictors.node_flags import NodeTest, one_test
from governance.policy.reasons import EvictionReason
from governance.policy.types import I64, Bool, Snapshot

if TYPE_CHECKING:
    from governance.policy.params import PolicyParams


class NodeDead:
    """Bypasses budgets and the notice window: the replica is already down."""

    name = "node_dead"
    reason = EvictionReason.NODE_DEAD
    bypass_budgets = True

    def node_test(self, params: PolicyParams) -> NodeTest | None:
        return NodeTest.DEAD

    def nodes(self, snapshot: Snapshot, params: PolicyParams, now_s: float) -> Bool:
        return one_test(snapshot, params, now_s, NodeTest.DEAD)

    def refine(self, snapshot: Snapshot, params: PolicyParams, now_s: float, rows: I64) -> I64:
        return rows  # every replica on a dead node, scheduled or not

    def propose(self, snapshot: Snapshot, params: PolicyParams, now_s: float) -> I64:
        return self.refine(
            snapshot, params, now_s, replicas_on(snapshot, self.nodes(snapshot, params, now_s))
        )


PLUGIN = NodeDead()
