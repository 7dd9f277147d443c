"""Filter: newcomer nodes only take low-criticality services (reputation tiers)."""

from __future__ import annotations

from governance.policy.context import PlacementContext
from governance.policy.reasons import FilterReason
from governance.policy.types import I32, Bool, Tier


class TierAllowed:
    """A NEWCOMER node takes services of criticality <= ``tiers.newcomer_max_criticality``."""

    name = "tier_allowed"
    reason = FilterReason.TIER_NOT_ALLOWED
    node_only = False

    def mask(self, ctx: PlacementContext, nodes: I32, reps: I32) -> Bool:
        crit = ctx.services.criticality[ctx.replicas.service[reps]]
        low = crit <= ctx.params.tiers.newcomer_max_criticality
        out: Bool = (ctx.nodes.tier[nodes] != Tier.NEWCOMER) | low[:, None]
        if not ctx.params.reputation.enabled:
            out = out | True
        return out

    def ok(self, ctx: PlacementContext, node: int, rep: int) -> bool:
        if not ctx.params.reputation.enabled or int(ctx.nodes.tier[node]) != Tier.NEWCOMER:
            return True
        crit = int(ctx.services.criticality[int(ctx.replicas.service[rep])])
        return crit <= ctx.params.tiers.newcomer_max_criticality


PLUGIN = TierAllowed()
