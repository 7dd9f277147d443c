"""Scorer: prefer failure domains holding fewer replicas of the same service."""

from __future__ import annotations

import numba
import numpy as np

from governance.policy.context import PlacementContext
from governance.policy.types import F64, I32, I64, Bool


def _spread_factors_loop(counts: I32, present: Bool, service: I32, desired: I32,
                         out: F64) -> None:  # fmt: skip
    """``out[b, j] = clip(1 - counts[b, j] / max(desired[service[b]], 1), 0, 1)``, float64.

    1 where ``present[b]`` is not set (the service has no replica yet).
    """
    for b in range(counts.shape[0]):
        if not present[b]:
            for j in range(counts.shape[1]):
                out[b, j] = 1.0
            continue
        want = np.float64(max(desired[service[b]], 1))
        for j in range(counts.shape[1]):
            f = 1.0 - counts[b, j] / want
            out[b, j] = 0.0 if f < 0.0 else (1.0 if f > 1.0 else f)  # np.clip


spread_factors_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_spread_factors_loop)


class Spread:
    """factor = 1 - (replicas of the service in the node's domain) / (desired replicas)."""

    name = "spread"
    node_only = False
    prefers_full = False  # its key rises as a node fills up

    def score(self, ctx: PlacementContext, nodes: I32, reps: I32) -> F64:
        svc = ctx.services_of(reps)
        counts = ctx.pair_counts(nodes, reps)
        if nodes.ndim == 2:  # a (B, k) block: one compiled pass, no temporaries
            present = ctx.pairs.present(svc)
            block = np.empty(nodes.shape, dtype=np.float64)
            spread_factors_jit(counts, present, svc, ctx.services.replicas, block)
            return block
        out: F64 = np.ones(nodes.shape, dtype=float)
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
