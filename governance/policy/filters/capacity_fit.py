"""Filter: the replica's demand fits the node's free capacity (newcomers: within their quota)."""

from __future__ import annotations

import numba
import numpy as np

from governance.policy.context import PlacementContext
from governance.policy.prefetch import prefetch_read, prefetch_row
from governance.policy.reasons import FilterReason
from governance.policy.types import F32, I8, I32, Bool, Tier

_NEWCOMER = int(Tier.NEWCOMER)
#: Rows of candidates between the prefetch of their nodes' rows and their use (random rows).
_AHEAD = 8


def _fits_loop(used: F32, limit: F32, tier: I8, scale_newcomers: bool, fraction: np.float32,
               demand: F32, nodes: I32, out: Bool) -> None:  # fmt: skip
    """``out[b, j]``: ``used[n] + demand[b] <= limit[n]`` on every resource, n = ``nodes[b, j]``.

    With ``scale_newcomers`` a newcomer's limit is ``limit[n] * fraction`` (float32), as
    `PlacementContext.capacity_limit` computes it. The rows of the candidates ``_AHEAD`` rows
    on are prefetched.
    """
    rows = nodes.shape[0]
    for b in range(rows):
        if b + _AHEAD < rows:
            for j in range(nodes.shape[1]):
                ahead = nodes[b + _AHEAD, j]
                prefetch_row(used, ahead)
                prefetch_row(limit, ahead)
                prefetch_read(tier, ahead)
        for j in range(nodes.shape[1]):
            n = nodes[b, j]
            newcomer = scale_newcomers and tier[n] == _NEWCOMER
            ok = True
            for r in range(used.shape[1]):
                cap = limit[n, r] * fraction if newcomer else limit[n, r]
                ok &= used[n, r] + demand[b, r] <= cap
            out[b, j] = ok


fits_loop = numba.njit(cache=True, nogil=True, error_model="numpy")(_fits_loop)


class CapacityFit:
    """used + demand <= limit on every resource (values are integral, so float32 sums are exact)."""

    name = "capacity_fit"
    reason = FilterReason.INSUFFICIENT_CAPACITY
    node_only = False

    def mask(self, ctx: PlacementContext, nodes: I32, reps: I32) -> Bool:
        demand = ctx.services.demand[ctx.replicas.service[reps]]
        headroom = ctx.headroom_columns()
        if headroom is not None:  # pool contexts: one gather per resource, no (B, k, R) temporaries
            out = np.ones(nodes.shape, dtype=bool)
            for r, column in enumerate(headroom):
                out &= column[nodes] >= demand[:, r, None]
            return out
        if nodes.ndim != 2:
            after = ctx.used[nodes] + demand[:, None, :]
            fits: Bool = np.all(after <= ctx.capacity_limit(nodes), axis=-1)
            return fits
        # One compiled pass: each candidate's usage, capacity and tier read once, no (B, k, R)
        # temporaries (the candidates are random rows of the node table).
        table = ctx.nodes.capacity if ctx.limit is None else ctx.limit
        scale = ctx.limit is None and ctx.params.reputation.enabled
        frac = np.float32(ctx.params.tiers.newcomer_capacity_fraction)
        fits = np.empty(nodes.shape, dtype=bool)
        fits_loop(ctx.used, table, ctx.nodes.tier, scale, frac, demand, nodes, fits)
        return fits

    def ok(self, ctx: PlacementContext, node: int, rep: int) -> bool:
        # Python floats: sums of whole numbers below 2**24 equal their float32 sums.
        demand = ctx.services.demand[ctx.replicas.service.item(rep)].tolist()
        used = ctx.used[node].tolist()
        limit = ctx.capacity_limit_one(node)
        for u, d, c in zip(used, demand, limit, strict=True):  # noqa: SIM110 (no generator per call)
            if u + d > c:
                return False
        return True


PLUGIN = CapacityFit()
