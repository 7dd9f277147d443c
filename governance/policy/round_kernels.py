"""Compiled passes of a sampled placement round: the capacity check of its picks, its usage update.

A round's picks are random rows of node tables as long as the network. Numpy gathers each column
into a temporary and makes a pass per operation; these loops read each pick's rows once (prefetched
a few picks ahead) and do per row exactly the operations of the numpy statements they replace
(float32 stays float32, float64 sums as numpy's), so results are bit-for-bit equal.
"""

from __future__ import annotations

import numba
import numpy as np

from governance.policy.prefetch import prefetch_read
from governance.policy.types import F32, I8, I32, I64, Bool, Tier

_NEWCOMER = int(Tier.NEWCOMER)
#: Picks between the prefetch of a node's rows and their use.
_AHEAD = 16


def _picks_fit_loop(used: F32, capacity: F32, tier: I8, held: I32, tiers_on: bool,
                    fraction: np.float32, quota: int, within: F32, nodes: I32, rank: I64,
                    out: Bool) -> None:  # fmt: skip
    """``out[i]``: pick i fits its node ``n = nodes[i]`` after the earlier picks on it.

    On every resource ``float64(used[n]) + float64(within[i]) <= float64(limit)``, the limit
    being ``capacity[n]`` (times ``fraction`` in float32 for a newcomer when ``tiers_on``); and
    with ``tiers_on`` a newcomer also needs ``held[n] + rank[i] < quota``.
    """
    count = nodes.shape[0]
    for i in range(count):
        if i + _AHEAD < count:
            ahead = nodes[i + _AHEAD]
            prefetch_read(used, ahead)
            prefetch_read(capacity, ahead)
            prefetch_read(tier, ahead)
            prefetch_read(held, ahead)
        n = nodes[i]
        newcomer = tiers_on and tier[n] == _NEWCOMER
        ok = True
        for r in range(used.shape[1]):
            cap = capacity[n, r] * fraction if newcomer else capacity[n, r]
            if not np.float64(used[n, r]) + np.float64(within[i, r]) <= np.float64(cap):
                ok = False  # (NaN anywhere fails, as numpy's comparison does)
        if newcomer:
            ok &= held[n] + rank[i] < quota
        out[i] = ok


def _add_usage_loop(used: F32, held: I32, nodes: I32, added: F32, runs: I64) -> None:
    """``used[nodes[i]] += added[i]`` and ``held[nodes[i]] += runs[i]`` for distinct ``nodes``."""
    count = nodes.shape[0]
    for i in range(count):
        if i + _AHEAD < count:
            prefetch_read(used, nodes[i + _AHEAD])
            prefetch_read(held, nodes[i + _AHEAD])
        n = nodes[i]
        for r in range(used.shape[1]):
            used[n, r] += added[i, r]
        held[n] += runs[i]


_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
picks_fit_jit = _jit(_picks_fit_loop)
add_usage_jit = _jit(_add_usage_loop)
