"""Filter: a newcomer node holds at most ``tiers.newcomer_max_replicas`` replicas."""

from __future__ import annotations

from governance.policy.context import PlacementContext
from governance.policy.reasons import FilterReason
from governance.policy.types import I32, Bool, Tier


class NewcomerQuota:
    """Caps the replica count of NEWCOMER nodes (their capacity cap lives in capacity_fit)."""

    name = "newcomer_quota"
    reason = FilterReason.NEWCOMER_QUOTA
    node_only = True

    def mask(self, ctx: PlacementContext, nodes: I32, reps: I32) -> Bool:
        room = ctx.held[nodes] < ctx.params.tiers.newcomer_max_replicas
        out: Bool = (ctx.nodes.tier[nodes] != Tier.NEWCOMER) | room
        if not ctx.params.reputation.enabled:
            out = out | True
        return out

    def ok(self, ctx: PlacementContext, node: int, rep: int) -> bool:
        if not ctx.params.reputation.enabled or ctx.nodes.tier.item(node) != Tier.NEWCOMER:
            return True
        return bool(ctx.held.item(node) < ctx.params.tiers.newcomer_max_replicas)


PLUGIN = NewcomerQuota()
