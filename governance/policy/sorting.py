"""Compiled LSD radix sorts of non-negative integer keys: a placement call's sorts of node rows.

A call sorts tens of thousands of node rows or pair keys several times (picks by node, pair keys
to merge); numpy's comparison sort costs ~40 ns per int64 here, three 11-bit counting passes a
fraction of that. An LSD radix sort is stable, so its order is exactly ``argsort(kind="stable")``.
"""

from __future__ import annotations

import numba
import numpy as np

from governance.policy.types import I32, I64

_DIGIT_BITS = 11
_BUCKETS = 1 << _DIGIT_BITS


def _bucket_starts(keys: I64, shift: int, starts: I64) -> None:
    """Where each bucket of the digit at ``shift`` starts in a stable pass over ``keys``."""
    starts[:] = 0
    for i in range(keys.shape[0]):
        starts[(keys[i] >> shift) & (_BUCKETS - 1)] += 1
    at = 0
    for d in range(_BUCKETS):  # bucket sizes -> where each bucket starts
        size = starts[d]
        starts[d] = at
        at += size


_bucket_starts_jit = numba.njit(cache=True, inline="always")(_bucket_starts)


def _radix_argsort_loop(values: I32 | I64, top: int) -> I64:
    """Stable order of ``values`` (all in ``[0, top]``): digit by digit from the lowest.

    Each pass carries the keys with their positions (sequential reads, no gather per pass).
    """
    n = values.shape[0]
    order = np.arange(n)
    keys = np.empty(n, dtype=np.int64)  # a copy: the passes write into both buffers
    keys[:] = values
    if n < 2:
        return order
    spare_order = np.empty(n, dtype=np.int64)
    spare_keys = np.empty(n, dtype=np.int64)
    starts = np.empty(_BUCKETS, dtype=np.int64)
    shift = 0
    while (np.int64(top) >> shift) > 0:
        _bucket_starts_jit(keys, shift, starts)
        for i in range(n):
            d = (keys[i] >> shift) & (_BUCKETS - 1)
            spare_keys[starts[d]] = keys[i]
            spare_order[starts[d]] = order[i]
            starts[d] += 1
        order, spare_order = spare_order, order
        keys, spare_keys = spare_keys, keys
        shift += _DIGIT_BITS
    return order


def _radix_sort_loop(values: I32 | I64, top: int) -> I64:
    """``np.sort(values)`` as int64, for ``values`` in ``[0, top]``."""
    n = values.shape[0]
    keys = np.empty(n, dtype=np.int64)  # a copy: the passes write into both buffers
    keys[:] = values
    spare = np.empty(n, dtype=np.int64)
    starts = np.empty(_BUCKETS, dtype=np.int64)
    shift = 0
    while n > 1 and (np.int64(top) >> shift) > 0:
        _bucket_starts_jit(keys, shift, starts)
        for i in range(n):
            d = (keys[i] >> shift) & (_BUCKETS - 1)
            spare[starts[d]] = keys[i]
            starts[d] += 1
        keys, spare = spare, keys
        shift += _DIGIT_BITS
    return keys


def _grouped_counts_loop(keys: I64, group: int, out_keys: I64, out_counts: I32) -> int:
    """Sorted distinct ``keys`` with their counts, when the groups ``key // group`` never fall.

    Pair keys gathered in replica row order come grouped by service when the replica table is
    (as the simulator keeps it): each group is a short run, sorted in a scratch copy (insertion
    sort; numpy's for long runs), then counted. Returns the distinct keys written, or -1 if a
    group falls or a key is negative (the caller then sorts the whole array).
    """
    n = keys.shape[0]
    run = np.empty(n, dtype=np.int64)
    found = 0
    floor = np.int64(0)  # every later key must reach this: one past the previous group
    i = 0
    while i < n:
        first = keys[i]
        if first < floor:
            return -1
        lo = (first // group) * group
        hi = lo + group
        j = i + 1
        while j < n and lo <= keys[j] < hi:
            j += 1
        size = j - i
        if size > _INSERTION_MAX:
            run[:size] = np.sort(keys[i:j])
        else:
            for p in range(size):  # insertion sort of a short run
                v = keys[i + p]
                q = p
                while q > 0 and run[q - 1] > v:
                    run[q] = run[q - 1]
                    q -= 1
                run[q] = v
        for p in range(size):
            if p and run[p] == run[p - 1]:
                out_counts[found - 1] += 1
            else:
                out_keys[found] = run[p]
                out_counts[found] = 1
                found += 1
        floor = hi
        i = j
    return found


#: Runs up to this long are insertion-sorted; longer ones by numpy's sort.
_INSERTION_MAX = 32
_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
radix_argsort_jit = _jit(_radix_argsort_loop)
radix_sort_jit = _jit(_radix_sort_loop)
grouped_counts_jit = _jit(_grouped_counts_loop)


def stable_argsort(values: I32 | I64) -> I64:
    """``argsort(values, kind="stable")`` of integer ``values`` (numpy's for negative ones)."""
    if values.shape[0] < 2:
        return np.arange(values.shape[0], dtype=np.int64)
    if int(values.min()) < 0:
        out: I64 = np.argsort(values, kind="stable")
        return out
    order: I64 = radix_argsort_jit(values, int(values.max()))
    return order


def sort_keys(values: I32 | I64) -> I64:
    """``np.sort(values)`` of integer ``values``, as int64 (numpy's sort for negative ones)."""
    if values.shape[0] < 2 or int(values.min()) < 0:
        return np.sort(values.astype(np.int64))
    out: I64 = radix_sort_jit(values, int(values.max()))
    return out
