"""Filter (anti-flapping): no placing a replica back on the node it was just evicted from."""

from __future__ import annotations

import numpy as np

from governance.policy.context import PlacementContext
from governance.policy.reasons import FilterReason
from governance.policy.types import I32, Bool


class EvictionCooldown:
    """Within ``eviction.cooldown_s`` of an eviction, the replica's old node is off limits."""

    name = "eviction_cooldown"
    reason = FilterReason.EVICTION_COOLDOWN
    node_only = False

    def mask(self, ctx: PlacementContext, nodes: I32, reps: I32) -> Bool:
        r = ctx.replicas
        cooling = ctx.now_s < r.last_evicted_at_s[reps] + ctx.params.eviction.cooldown_s
        if not cooling.any():
            return np.ones(nodes.shape, dtype=bool)
        rows = ctx.global_rows(nodes)
        out: Bool = ~(cooling[:, None] & (rows == r.last_evicted_node[reps][:, None]))
        return out

    def ok(self, ctx: PlacementContext, node: int, rep: int) -> bool:
        r = ctx.replicas
        cooling = ctx.now_s < r.last_evicted_at_s.item(rep) + ctx.params.eviction.cooldown_s
        return not (cooling and r.last_evicted_node.item(rep) == ctx.global_row(node))


PLUGIN = EvictionCooldown()
