"""Filter: replicas of one service go to distinct failure domains when enough live domains exist."""

from __future__ import annotations

from governance.policy.context import PlacementContext
from governance.policy.reasons import FilterReason
from governance.policy.types import I32, Bool


class AntiAffinity:
    """Rejects a domain already holding a replica of the service (if the service can spread)."""

    name = "anti_affinity"
    reason = FilterReason.SAME_FAILURE_DOMAIN
    node_only = False

    def mask(self, ctx: PlacementContext, nodes: I32, reps: I32) -> Bool:
        svc = ctx.replicas.service[reps]
        out: Bool = ~ctx.spreads(svc)[:, None] | (ctx.pair_counts(nodes, reps) == 0)
        return out

    def ok(self, ctx: PlacementContext, node: int, rep: int) -> bool:
        svc = ctx.replicas.service.item(rep)
        if not ctx.services.replicas.item(svc) <= ctx.live_domains:
            return True
        key = svc * ctx.pairs.n_domains + ctx.nodes.failure_domain.item(node)
        return ctx.pairs.get(key) == 0


PLUGIN = AntiAffinity()
