"""Eviction: replicas on dead nodes (heartbeat older than the TTL, or reported unhealthy)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from governance.policy.evictors.common import replicas_on
from governance.policy.evictors.kernels import stale_loop
from governance.policy.reasons import EvictionReason
from governance.policy.types import I64, Bool, Snapshot

if TYPE_CHECKING:
    from governance.policy.params import PolicyParams


class NodeDead:
    """Bypasses budgets and the notice window: the replica is already down."""

    name = "node_dead"
    reason = EvictionReason.NODE_DEAD
    bypass_budgets = True

    def nodes(self, snapshot: Snapshot, params: PolicyParams, now_s: float) -> Bool:
        nodes = snapshot.nodes
        stale = np.empty(nodes.size, dtype=np.bool_)
        oldest_s = now_s - params.eviction.heartbeat_ttl_s
        stale_loop(nodes.last_heartbeat_s, nodes.healthy, oldest_s, stale)
        return stale

    def refine(self, snapshot: Snapshot, params: PolicyParams, now_s: float, rows: I64) -> I64:
        return rows  # every replica on a dead node, scheduled or not

    def propose(self, snapshot: Snapshot, params: PolicyParams, now_s: float) -> I64:
        return self.refine(
            snapshot, params, now_s, replicas_on(snapshot, self.nodes(snapshot, params, now_s))
        )


PLUGIN = NodeDead()
