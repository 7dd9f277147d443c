"""Scorer: prefer nodes with a higher reputation score."""

from __future__ import annotations

import numba
import numpy as np

from governance.policy.context import PlacementContext
from governance.policy.prefetch import prefetch_read
from governance.policy.types import F32, F64, I32, I64

#: Candidates between the prefetch of a node's reputation and its use (random rows: cache misses).
_AHEAD = 16


def _reputation_at_loop(reputation: F32, nodes: I32 | I64, out: F64) -> None:
    """``out[j] = reputation[nodes[j]]`` (widened to float64), prefetched ``_AHEAD`` on."""
    count = nodes.shape[0]
    for j in range(count):
        if j + _AHEAD < count:
            prefetch_read(reputation, nodes[j + _AHEAD])
        out[j] = reputation[nodes[j]]


reputation_at_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_reputation_at_loop)


def reputation_at(reputation: F32, nodes: I32 | I64) -> F64:
    """``reputation[nodes].astype(float)`` in one compiled pass (candidates are random rows)."""
    flat = nodes.reshape(-1)
    out = np.empty(flat.shape[0], dtype=np.float64)
    reputation_at_jit(reputation, flat, out)
    return out.reshape(nodes.shape)


class ReputationScore:
    """factor = reputation in [0, 1]."""

    name = "reputation"
    node_only = True
    prefers_full = False  # its key rises as a node fills up

    def score(self, ctx: PlacementContext, nodes: I32, reps: I32) -> F64:
        return reputation_at(ctx.nodes.reputation, nodes)

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
