"""Scorer: prefer failure domains holding fewer replicas of the same service."""

from __future__ import annotations

import numpy as np

from governance.policy.context import PlacementContext
from governance.policy.types import F64, I32, I64


class Spread:
    """factor = 1 - (replicas of the service in the node's domain) / (desired replicas)."""

    name = "spread"
    node_only = False
    prefers_full = False  # its key rises as a node fills up

    def score(self, ctx: PlacementContext, nodes: I32, reps: I32) -> F64:
        svc = ctx.replicas.service[reps]
        out: F64 = np.ones(nodes.shape, dtype=float)
        counts = ctx.pair_counts(nodes, reps)
        rows = np.flatnonzero(ctx.pairs.present(svc))  # no replica anywhere yet: factor 1
        if rows.size:
            want = np.maximum(ctx.services.replicas[svc[rows]], 1).astype(float)[:, None]
            out[rows] = np.clip(1.0 - counts[rows] / want, 0.0, 1.0)
        return out

    def score_one(self, ctx: PlacementContext, node: int, rep: int) -> float:
        svc = ctx.replicas.service.item(rep)
        count = ctx.pairs.get(svc * ctx.pairs.n_domains + ctx.nodes.failure_domain.item(node))
        want = max(ctx.services.replicas.item(svc), 1)
        return min(1.0, max(0.0, 1.0 - count / want))

    def bound(self, ctx: PlacementContext, nodes: I64) -> F64:
        return np.ones(nodes.shape, dtype=float)

    def bound_one(self, ctx: PlacementContext, node: int) -> float:
        return 1.0

    def special_domains(self, ctx: PlacementContext, rep: int) -> list[int]:
        return []


PLUGIN = Spread()
