"""Filter: the replica's demand fits the node's free capacity (newcomers: within their quota)."""

from __future__ import annotations

import numpy as np

from governance.policy.context import PlacementContext
from governance.policy.reasons import FilterReason
from governance.policy.types import I32, Bool


class CapacityFit:
    """used + demand <= limit on every resource (values are integral, so float32 sums are exact)."""

    name = "capacity_fit"
    reason = FilterReason.INSUFFICIENT_CAPACITY
    node_only = False

    def mask(self, ctx: PlacementContext, nodes: I32, reps: I32) -> Bool:
        demand = ctx.services.demand[ctx.replicas.service[reps]]
        headroom = ctx.headroom_columns()
        if headroom is not None:  # pool contexts: one gather per resource, no (B, k, R) temporaries
            out = np.ones(nodes.shape, dtype=bool)
            for r, column in enumerate(headroom):
                out &= column[nodes] >= demand[:, r, None]
            return out
        after = ctx.used[nodes] + demand[:, None, :]
        fits: Bool = np.all(after <= ctx.capacity_limit(nodes), axis=-1)
        return fits

    def ok(self, ctx: PlacementContext, node: int, rep: int) -> bool:
        # Python floats: sums of whole numbers below 2**24 equal their float32 sums.
        demand = ctx.services.demand[ctx.replicas.service.item(rep)].tolist()
        used = ctx.used[node].tolist()
        limit = ctx.capacity_limit_one(node)
        for u, d, c in zip(used, demand, limit, strict=True):  # noqa: SIM110 (no generator per call)
            if u + d > c:
                return False
        return True


PLUGIN = CapacityFit()
