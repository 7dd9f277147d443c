"""Eviction: replicas on nodes whose reputation fell below the floor."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from governance.policy.evictors.common import not_scheduled, replicas_on
from governance.policy.reasons import EvictionReason
from governance.policy.types import I64, Snapshot

if TYPE_CHECKING:
    from governance.policy.params import PolicyParams


class ReputationFloor:
    """Nodes past the newcomer grace (``tiers.established_tenure_s``) scoring below the floor.

    New keys start at score 0: they are held in check by the newcomer quotas, not evicted for a
    score they have had no time to earn. Off when reputation is disabled (the Kubernetes baseline).
    """

    name = "reputation_floor"
    reason = EvictionReason.REPUTATION_BELOW_FLOOR
    bypass_budgets = False

    def propose(self, snapshot: Snapshot, params: PolicyParams, now_s: float) -> I64:
        if not params.reputation.enabled:
            return np.empty(0, dtype=np.int64)
        nodes = snapshot.nodes
        low = nodes.reputation < np.float32(params.eviction.reputation_floor)
        rows = np.flatnonzero(low)
        if rows.size == 0:
            return np.empty(0, dtype=np.int64)
        young = (now_s - nodes.joined_at_s[rows]) < params.tiers.established_tenure_s
        low[rows[young]] = False
        return not_scheduled(snapshot, replicas_on(snapshot, low))


PLUGIN = ReputationFloor()
