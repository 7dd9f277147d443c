"""Scorer (bin packing, kube's MostAllocated): prefer the fullest nodes that still fit."""

from __future__ import annotations

from governance.policy.context import PlacementContext
from governance.policy.scorers.least_allocated import free_share, free_share_at, free_share_one
from governance.policy.types import F64, I32, I64


class MostAllocated:
    """factor = 1 - mean free share (allocation before the replica; capacity_fit checks it fits)."""

    name = "most_allocated"
    node_only = True
    prefers_full = True  # its key rises as a node fills up

    def score(self, ctx: PlacementContext, nodes: I32, reps: I32) -> F64:
        out: F64 = 1.0 - free_share_at(ctx.used, ctx.nodes.capacity, nodes)
        return out

    def score_all(self, ctx: PlacementContext) -> F64:
        """`score` of every node row, without gathers."""
        out: F64 = 1.0 - free_share(ctx.used, ctx.nodes.capacity)
        return out

    def score_one(self, ctx: PlacementContext, node: int, rep: int) -> float:
        return 1.0 - free_share_one(ctx.used[node].tolist(), ctx.nodes.capacity[node].tolist())

    def bound(self, ctx: PlacementContext, nodes: I64) -> F64:
        out: F64 = 1.0 - free_share_at(ctx.used, ctx.nodes.capacity, nodes)
        return out

    def bound_one(self, ctx: PlacementContext, node: int) -> float:
        return 1.0 - free_share_one(ctx.used[node].tolist(), ctx.nodes.capacity[node].tolist())

    def special_domains(self, ctx: PlacementContext, rep: int) -> list[int]:
        return []


PLUGIN = MostAllocated()
