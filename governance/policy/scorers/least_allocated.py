"""Scorer (kube's LeastAllocated): prefer nodes with the largest free share of their capacity.

The share is taken on the node's allocation before the replica, so the factor depends on the node
alone: exact mode's index key is then the factor itself, and a decision stops after a few nodes.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from governance.policy.context import PlacementContext
from governance.policy.prefetch import prefetch_row
from governance.policy.types import F32, F64, I32, I64

#: Candidates between the prefetch of a node's rows and their use (random rows: cache misses).
_AHEAD = 16


def free_share(used: Any, cap: Any) -> F64:
    """Mean over resources of clip(1 - used / cap, 0, 1); 0 where cap is 0 (float32 inside)."""
    share = np.divide(used, cap, out=np.ones(used.shape, dtype=np.float32), where=cap > 0)
    np.subtract(np.float32(1), share, out=share)
    np.clip(share, 0, 1, out=share)
    # Column by column in float64, left to right: the same sums as ``share.sum(axis=-1)`` (and
    # as `free_share_one`), without numpy's slow reduction over a short last axis.
    out: F64 = share[..., 0].astype(np.float64)
    for r in range(1, share.shape[-1]):
        out += share[..., r]
    out /= share.shape[-1]
    return out


def _free_share_at_loop(used: F32, capacity: F32, nodes: I32 | I64, out: F64) -> None:
    """``out[j]``: `free_share` of node ``nodes[j]`` (the same float32 steps, float64 sum).

    The rows of the candidate ``_AHEAD`` positions on are prefetched.
    """
    one, zero = np.float32(1.0), np.float32(0.0)
    n_res = used.shape[1]
    count = nodes.shape[0]
    for j in range(count):
        if j + _AHEAD < count:
            prefetch_row(used, nodes[j + _AHEAD])  # both lines of a straddling row
            prefetch_row(capacity, nodes[j + _AHEAD])
        n = nodes[j]
        total = 0.0
        for r in range(n_res):
            cap = capacity[n, r]
            share = one - (used[n, r] / cap if cap > 0 else one)
            share = zero if share < 0 else share  # np.clip: NaN passes through
            share = one if share > 1 else share
            total = np.float64(share) if r == 0 else total + np.float64(share)
        out[j] = total / n_res


free_share_at_loop = numba.njit(cache=True, nogil=True, error_model="numpy")(_free_share_at_loop)


def free_share_at(used: F32, capacity: F32, nodes: I32 | I64) -> F64:
    """``free_share(used[nodes], capacity[nodes])`` without the (..., R) gathers and temporaries.

    The candidates of a placement round are random rows of a 1e7-row table: one compiled loop
    reads each candidate's two rows once, where numpy makes two gathers and five passes.
    """
    flat = nodes.reshape(-1)
    out = np.empty(flat.shape[0], dtype=np.float64)
    free_share_at_loop(used, capacity, flat, out)
    return out.reshape(nodes.shape)


def free_share_one(used: list[float], cap: list[float]) -> float:
    """Scalar `free_share` (same operations in the same order)."""
    total = 0.0
    for u, c in zip(used, cap, strict=True):
        if c > 0:
            share = 1.0 - u / c
            total += 1.0 if share > 1.0 else (share if share > 0.0 else 0.0)
    return total / len(cap)


class LeastAllocated:
    """factor = mean free share of the node's capacity."""

    name = "least_allocated"
    node_only = True
    prefers_full = False  # its key rises as a node fills up

    def score(self, ctx: PlacementContext, nodes: I32, reps: I32) -> F64:
        return free_share_at(ctx.used, ctx.nodes.capacity, nodes)

    def score_all(self, ctx: PlacementContext) -> F64:
        """`score` of every node row, without gathers (node-only scorers offer this)."""
        return free_share(ctx.used, ctx.nodes.capacity)

    def score_one(self, ctx: PlacementContext, node: int, rep: int) -> float:
        return free_share_one(ctx.used[node].tolist(), ctx.nodes.capacity[node].tolist())

    def bound(self, ctx: PlacementContext, nodes: I64) -> F64:
        return free_share_at(ctx.used, ctx.nodes.capacity, nodes)

    def bound_one(self, ctx: PlacementContext, node: int) -> float:
        return free_share_one(ctx.used[node].tolist(), ctx.nodes.capacity[node].tolist())

    def special_domains(self, ctx: PlacementContext, rep: int) -> list[int]:
        return []


PLUGIN = LeastAllocated()
