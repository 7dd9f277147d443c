"""Scorer: prefer nodes with a higher reputation score."""

from __future__ import annotations

from governance.policy.context import PlacementContext
from governance.policy.types import F64, I32, I64


class ReputationScore:
    """factor = reputation in [0, 1]."""

    name = "reputation"
    node_only = True
    prefers_full = False  # its key rises as a node fills up

    def score(self, ctx: PlacementContext, nodes: I32, reps: I32) -> F64:
        out: F64 = ctx.nodes.reputation[nodes].astype(float)
        return out

    def score_all(self, ctx: PlacementContext) -> F64:
        """`score` of every node row, without gathers."""
        out: F64 = ctx.nodes.reputation.astype(float)
        return out

    def score_one(self, ctx: PlacementContext, node: int, rep: int) -> float:
        out: float = ctx.nodes.reputation.item(node)
        return out

    def bound(self, ctx: PlacementContext, nodes: I64) -> F64:
        out: F64 = ctx.nodes.reputation[nodes].astype(float)
        return out

    def bound_one(self, ctx: PlacementContext, node: int) -> float:
        out: float = ctx.nodes.reputation.item(node)
        return out

    def special_domains(self, ctx: PlacementContext, rep: int) -> list[int]:
        return []


PLUGIN = ReputationScore()
