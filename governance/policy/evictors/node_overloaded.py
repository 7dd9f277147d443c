"""Eviction: on overloaded nodes, the lowest-priority replicas until the load is under limit."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from governance.policy.evictors.common import not_scheduled, replicas_on
from governance.policy.evictors.node_flags import NodeTest, one_test
from governance.policy.reasons import EvictionReason
from governance.policy.types import I64, Bool, Snapshot

if TYPE_CHECKING:
    from governance.policy.params import PolicyParams


class NodeOverloaded:
    """Per node, replicas in ascending criticality (then row) until used <= fraction * capacity."""

    name = "node_overloaded"
    reason = EvictionReason.NODE_OVERLOADED
    bypass_budgets = False

    def node_test(self, params: PolicyParams) -> NodeTest | None:
        return NodeTest.OVERLOADED

    def nodes(self, snapshot: Snapshot, params: PolicyParams, now_s: float) -> Bool:
        return one_test(snapshot, params, now_s, NodeTest.OVERLOADED)

    def propose(self, snapshot: Snapshot, params: PolicyParams, now_s: float) -> I64:
        return self.refine(
            snapshot, params, now_s, replicas_on(snapshot, self.nodes(snapshot, params, now_s))
        )

    def refine(self, snapshot: Snapshot, params: PolicyParams, now_s: float, rows: I64) -> I64:
        nodes, reps, svc = snapshot.nodes, snapshot.replicas, snapshot.services
        frac = np.float32(params.eviction.overload_fraction)
        rows = not_scheduled(snapshot, rows)
        if rows.size == 0:
            return rows
        node = reps.node[rows]
        crit = svc.criticality[reps.service[rows]]
        order = np.lexsort((rows, crit, node))
        rows, node = rows[order], node[order]
        demand = svc.demand[reps.service[rows]].astype(float)
        excess = np.maximum(nodes.used[node] - nodes.capacity[node] * frac, 0).astype(float)
        cum = np.cumsum(demand, axis=0)
        first = np.r_[True, node[1:] != node[:-1]]
        seg = np.cumsum(first) - 1
        starts = np.flatnonzero(first)
        before = np.vstack([np.zeros((1, demand.shape[1])), cum])[starts][seg]
        removed_before = cum - demand - before  # freed by the earlier picks on this node
        needed = np.any(removed_before < excess, axis=1)
        out: I64 = np.sort(rows[needed])
        return out


PLUGIN = NodeOverloaded()
