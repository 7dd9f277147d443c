"""Merge passes over sorted integer arrays: their distinct values, the pair-key runs of services.

Placement works on the services of its pending rows, which come sorted when the replica table is
grouped by service (the simulator's is): one pass then replaces a mask as long as the service
table, and a merge replaces an index as long as it (or a binary search per entry).
"""

from __future__ import annotations

import numba
import numpy as np

from governance.policy.sorting import stable_argsort
from governance.policy.types import I32, I64


def _sorted_unique_loop(values: I32 | I64, out: I64) -> int:
    """Distinct ``values`` into ``out`` if ``values`` is non-decreasing; -1 if it is not."""
    found = 0
    for j in range(values.shape[0]):
        v = values[j]
        if j:
            prev = values[j - 1]
            if v < prev:
                return -1
            if v == prev:
                continue
        out[found] = v
        found += 1
    return found


def _key_ranges_loop(keys: I64, n_domains: int, services: I32, order: I64, lo: I64,
                     hi: I64) -> None:  # fmt: skip
    """``lo[i]:hi[i]``: the run of sorted ``keys`` of service ``services[i]``.

    ``order`` sorts ``services``; walking them in that order, one pointer moves forward over
    ``keys``: a merge instead of two binary searches per entry.
    """
    p = 0
    m = keys.shape[0]
    for t in range(order.shape[0]):
        i = order[t]
        base = np.int64(services[i]) * n_domains
        while p < m and keys[p] < base:
            p += 1
        q = p
        while q < m and keys[q] < base + n_domains:
            q += 1
        lo[i] = p
        hi[i] = q


_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
sorted_unique_jit = _jit(_sorted_unique_loop)
key_ranges_jit = _jit(_key_ranges_loop)


def distinct(values: I32 | I64) -> I64:
    """``np.unique(values)`` as int64: one pass when ``values`` is already sorted."""
    out = np.empty(values.shape[0], dtype=np.int64)
    found = sorted_unique_jit(values, out)
    if found < 0:
        uniq: I64 = np.unique(values).astype(np.int64)
        return uniq
    return out[:found]


def key_ranges(keys: I64, n_domains: int, services: I32) -> tuple[I64, I64]:
    """``searchsorted(keys, services * n_domains)`` and of ``(services + 1) * n_domains``."""
    lo = np.empty(services.shape[0], dtype=np.int64)
    hi = np.empty(services.shape[0], dtype=np.int64)
    key_ranges_jit(keys, int(n_domains), services, stable_argsort(services), lo, hi)
    return lo, hi
