"""Filter: a service pinned to a region only runs on nodes of that region."""

from __future__ import annotations

import numpy as np

from governance.policy.context import PlacementContext
from governance.policy.reasons import FilterReason
from governance.policy.types import I32, NO_REGION, Bool


class Region:
    """``services.region == NO_REGION`` means anywhere."""

    name = "region"
    reason = FilterReason.REGION_MISMATCH
    node_only = False

    def mask(self, ctx: PlacementContext, nodes: I32, reps: I32) -> Bool:
        want = ctx.services.region[ctx.replicas.service[reps]]
        out: Bool = np.ones(nodes.shape, dtype=bool)
        rows = np.flatnonzero(want != NO_REGION)  # unconstrained rows pass without a gather
        if rows.size:
            out[rows] = ctx.nodes.region[nodes[rows]] == want[rows, None]
        return out

    def ok(self, ctx: PlacementContext, node: int, rep: int) -> bool:
        want = ctx.services.region.item(ctx.replicas.service.item(rep))
        return bool(want == NO_REGION or ctx.nodes.region.item(node) == want)


PLUGIN = Region()
