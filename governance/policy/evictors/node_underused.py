"""Eviction (optional consolidation, kube's LowNodeUtilization): empty under-used nodes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from governance.policy.evictors.common import not_scheduled, replicas_on
from governance.policy.reasons import EvictionReason
from governance.policy.types import I64, Bool, Snapshot

if TYPE_CHECKING:
    from governance.policy.params import PolicyParams


class NodeUnderused:
    """Replicas on nodes whose every resource is below ``eviction.underused_fraction``."""

    name = "node_underused"
    reason = EvictionReason.NODE_UNDERUSED
    bypass_budgets = False

    def nodes(self, snapshot: Snapshot, params: PolicyParams, now_s: float) -> Bool:
        nodes = snapshot.nodes
        frac = np.float32(params.eviction.underused_fraction)
        low: Bool = nodes.replicas_held > 0
        for r in range(nodes.capacity.shape[1]):
            low &= nodes.used[:, r] < nodes.capacity[:, r] * frac
        return low

    def refine(self, snapshot: Snapshot, params: PolicyParams, now_s: float, rows: I64) -> I64:
        return not_scheduled(snapshot, rows)

    def propose(self, snapshot: Snapshot, params: PolicyParams, now_s: float) -> I64:
        return self.refine(
            snapshot, params, now_s, replicas_on(snapshot, self.nodes(snapshot, params, now_s))
        )


PLUGIN = NodeUnderused()
