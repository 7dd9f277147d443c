"""Eviction: replicas on nodes whose reputation fell below the floor for their tenure."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from governance.policy.evictors.common import not_scheduled, replicas_on
from governance.policy.evictors.node_flags import NodeTest, one_test
from governance.policy.reasons import EvictionReason
from governance.policy.types import I64, Bool, Snapshot

if TYPE_CHECKING:
    from governance.policy.params import PolicyParams


class ReputationFloor:
    """Nodes past the newcomer grace whose score is below ``floor * tenure factor``.

    The tenure factor, min(1, tenure / tenure_full_s), caps what any node can have earned by
    now, so an honest node climbing from 0 stays above the bar while a node that loses its score
    (lies, outages, failed jobs) falls under it; at full tenure the bar is the floor itself. New
    keys (tenure below ``tiers.established_tenure_s``) are held in check by the newcomer quotas
    instead. Off when reputation is disabled (the Kubernetes baseline).
    """

    name = "reputation_floor"
    reason = EvictionReason.REPUTATION_BELOW_FLOOR
    bypass_budgets = False

    def node_test(self, params: PolicyParams) -> NodeTest | None:
        return NodeTest.REPUTATION_FLOOR if params.reputation.enabled else None

    def nodes(self, snapshot: Snapshot, params: PolicyParams, now_s: float) -> Bool | None:
        if not params.reputation.enabled:
            return None
        return one_test(snapshot, params, now_s, NodeTest.REPUTATION_FLOOR)

    def refine(self, snapshot: Snapshot, params: PolicyParams, now_s: float, rows: I64) -> I64:
        return not_scheduled(snapshot, rows)

    def propose(self, snapshot: Snapshot, params: PolicyParams, now_s: float) -> I64:
        low = self.nodes(snapshot, params, now_s)
        if low is None:
            return np.empty(0, dtype=np.int64)
        return self.refine(snapshot, params, now_s, replicas_on(snapshot, low))


PLUGIN = ReputationFloor()
