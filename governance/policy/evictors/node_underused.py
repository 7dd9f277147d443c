"""Eviction (optional consolidation, kube's LowNodeUtilization): empty under-used nodes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from governance.policy.evictors.common import not_scheduled, replicas_on
from governance.policy.evictors.node_flags import NodeTest, one_test
from governance.policy.reasons import EvictionReason
from governance.policy.types import I64, Bool, Snapshot

if TYPE_CHECKING:
    from governance.policy.params import PolicyParams


class NodeUnderused:
    """Replicas on nodes whose every resource is below ``eviction.underused_fraction``."""

    name = "node_underused"
    reason = EvictionReason.NODE_UNDERUSED
    bypass_budgets = False

    def node_test(self, params: PolicyParams) -> NodeTest | None:
        return NodeTest.UNDERUSED

    def nodes(self, snapshot: Snapshot, params: PolicyParams, now_s: float) -> Bool:
        return one_test(snapshot, params, now_s, NodeTest.UNDERUSED)

    def refine(self, snapshot: Snapshot, params: PolicyParams, now_s: float, rows: I64) -> I64:
        return not_scheduled(snapshot, rows)

    def propose(self, snapshot: Snapshot, params: PolicyParams, now_s: float) -> I64:
        return self.refine(
            snapshot, params, now_s, replicas_on(snapshot, self.nodes(snapshot, params, now_s))
        )


PLUGIN = NodeUnderused()
