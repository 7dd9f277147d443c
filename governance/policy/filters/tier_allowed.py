"""Filter: newcomer nodes only take low-criticality services (reputation tiers)."""

from __future__ import annotations

import numpy as np

from governance.policy.context import PlacementContext
from governance.policy.reasons import FilterReason
from governance.policy.types import I32, Bool, Tier


class TierAllowed:
    """A NEWCOMER node takes services of criticality <= ``tiers.newcomer_max_criticality``."""

    name = "tier_allowed"
    reason = FilterReason.TIER_NOT_ALLOWED
    node_only = False

    def mask(self, ctx: PlacementContext, nodes: I32, reps: I32) -> Bool:
        out: Bool = np.ones(nodes.shape, dtype=bool)
        if not ctx.params.reputation.enabled:
            return out
        crit = ctx.services.criticality[ctx.replicas.service[reps]]
        rows = np.flatnonzero(crit > ctx.params.tiers.newcomer_max_criticality)
        if rows.size:  # low-criticality rows may use any tier: no gather for them
            out[rows] = ctx.nodes.tier[nodes[rows]] != Tier.NEWCOMER
        return out

    def ok(self, ctx: PlacementContext, node: int, rep: int) -> bool:
        if not ctx.params.reputation.enabled or ctx.nodes.tier.item(node) != Tier.NEWCOMER:
            return True
        crit = ctx.services.criticality.item(ctx.replicas.service.item(rep))
        return crit <= ctx.params.tiers.newcomer_max_criticality


PLUGIN = TierAllowed()
