"""Filter: the node is healthy, not draining and its last heartbeat is within the TTL."""

from __future__ import annotations

from governance.policy.context import PlacementContext
from governance.policy.reasons import FilterReason
from governance.policy.types import I32, Bool


class NodeAvailable:
    """Dead, unhealthy and draining nodes take no new replicas."""

    name = "node_available"
    reason = FilterReason.NODE_UNAVAILABLE
    node_only = True

    def mask(self, ctx: PlacementContext, nodes: I32, reps: I32) -> Bool:
        n = ctx.nodes
        fresh = n.last_heartbeat_s[nodes] >= ctx.now_s - ctx.params.eviction.heartbeat_ttl_s
        out: Bool = n.healthy[nodes] & ~n.draining[nodes] & fresh
        return out

    def ok(self, ctx: PlacementContext, node: int, rep: int) -> bool:
        n = ctx.nodes
        ttl = ctx.params.eviction.heartbeat_ttl_s
        return bool(
            n.healthy.item(node)
            and not n.draining.item(node)
            and n.last_heartbeat_s.item(node) >= ctx.now_s - ttl
        )


PLUGIN = NodeAvailable()
