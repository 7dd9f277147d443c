"""Compiled per-slot passes of a simulator step (capacity, KPIs, tasks, churn, releases).

Each loop replaces a few numpy passes and their temporaries by one, doing per row exactly what the
numpy statements did (no fast-math), so results are bit-for-bit equal. Float sums stay in numpy:
the KPI loops only compact the values numpy then sums, in the same order as a fancy-index gather.
A loop over rows ``[lo, hi)`` indexes slices from 0: numba wraps a possibly negative subscript, and
that select on every access keeps a loop indexed from ``lo`` from vectorizing.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

from governance.policy.prefetch import prefetch_read
from settlement.economics.prefetch import prefetch_write
from sim.world import F32, F64, I32, I64, B

U64 = NDArray[np.uint64]
ALL_PRESENT = np.uint64(0x0101010101010101)  # eight True bytes
_BYTE_SUM = ALL_PRESENT  # (word * _BYTE_SUM) >> 56 sums a word's eight 0/1 bytes
_FREE_BATCH = 64  # absent slots prefetched before the first one's replica count is read


def _capacity_units_loop(
    cores: NDArray[np.uint8] | I64,
    up: B,
    reputation: F32,
    floor: np.float32,
    out: I64,
    lo: int,
    hi: int,
) -> None:
    """On rows ``[lo, hi)``: ``out = cores * (up & (reputation >= floor))`` (float32; NaN: 0)."""
    c, u, rep, o = cores[lo:hi], up[lo:hi], reputation[lo:hi], out[lo:hi]
    for i in range(o.size):
        o[i] = c[i] if u[i] and rep[i] >= floor else 0


capacity_units_jit = numba.njit(cache=True, nogil=True)(_capacity_units_loop)


def _compact_loop(mask: B, values: F32, out: F32, lo: int, hi: int) -> int:
    """``values[mask]`` of rows ``[lo, hi)`` into ``out`` from ``lo``; return how many.

    The compacted values are the fancy-index gather's, in its order, so numpy sums them the same.
    Every row is stored and the head advances only on selected rows: no branch on a random mask
    (so it writes anywhere in ``[lo, hi)`` of ``out``). ``values`` may be strided (a column).
    """
    m, v, o = mask[lo:hi].view(np.uint8), values[lo:hi], out[lo:hi]
    k = 0
    for i in range(m.size):
        o[k] = v[i]
        k += m[i]
    return k


compact_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_compact_loop)


def _row_after_loop(mask: B, words: U64, count: int) -> int:
    """The row just after the ``count``-th set row of ``mask`` (0 if ``count`` is 0).

    ``words`` views the head of ``mask`` as 8-row words: whole words are counted by their byte
    sums until the one that holds that row. ``count`` must not exceed the set rows.
    """
    if count <= 0:
        return 0
    seen = 0
    j = 0
    while j < words.size:
        here = int((words[j] * _BYTE_SUM) >> np.uint64(56))
        if seen + here >= count:
            break
        seen += here
        j += 1
    i = 8 * j
    while True:
        seen += mask[i]
        i += 1
        if seen == count:
            return i


row_after_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_row_after_loop)


def _pick(mask: B, i: int, stride: int, out: I64, k: int, seen: int) -> tuple[int, int]:
    """One row of `_strided_rows_loop`: store its index, keep it if it is the pick."""
    m = mask[i]
    out[k] = i
    k += m & (seen == 0)
    seen += m
    return k, 0 if seen == stride else seen


_pick_jit = numba.njit(cache=True, inline="always")(_pick)


def _strided_rows_loop(mask: B, words: U64, stride: int, out: I64) -> int:
    """``flatnonzero(mask)[::stride]`` into the head of ``out``; return its length.

    ``words`` views the head of ``mask`` as 8-row words; a word whose set rows cannot reach the
    next pick is counted whole (its byte sum) instead of row by row. ``out`` needs one spare row:
    every row's index is stored before the head advances (no branch on a random mask).
    """
    k = 0
    seen = 0  # set rows of mask so far, modulo stride: the next pick is the set row at 0
    for j in range(words.size):
        count = int((words[j] * _BYTE_SUM) >> np.uint64(56))
        if seen != 0 and seen + count <= stride:
            seen += count
            seen = 0 if seen == stride else seen  # (a compare: `%` would divide every word)
            continue
        for i in range(8 * j, 8 * j + 8):
            k, seen = _pick_jit(mask, i, stride, out, k, seen)
    for i in range(8 * words.size, mask.size):
        k, seen = _pick_jit(mask, i, stride, out, k, seen)
    return k


strided_rows_jit = numba.njit(cache=True, nogil=True)(_strided_rows_loop)


#: Task rows between the prefetch of a host's `up` byte and its use.
_TASK_AHEAD = 32


def _finish_tasks_loop(
    task_rows: I64,
    task_services: I32,
    node: I32,
    up: B,
    remaining: I32,
    duration_steps: I32,
    done: I64,
    lo: int,
    hi: int,
) -> int:
    """Count down the tasks ``task_rows[lo:hi]`` running on up nodes; return ``k``.

    ``task_services`` holds each task row's service (static: read in step with the rows instead of
    a scattered column of all replicas). ``done[lo : lo + k]`` gets those that finished. A
    finished task's countdown restarts at its duration. Task services have one replica row each,
    so a service appears once in ``task_rows`` (numpy's fancy ``-=`` counted a repeat once), and
    two ranges touch disjoint services.
    """
    rows, services, finished = task_rows[lo:hi], task_services[lo:hi], done[lo:hi]
    k = 0
    count = rows.size
    for j in range(count):
        if j + _TASK_AHEAD < count:  # the host's row is a scattered read: ask for it early
            prefetch_read(up, node[rows[j + _TASK_AHEAD]])
        on = node[rows[j]]
        if on < 0 or not up[on]:
            continue
        s = services[j]
        remaining[s] -= 1
        if remaining[s] <= 0:
            finished[k] = j  # its position for now: the row and service are read by it below
            k += 1
    for j in range(k):
        t = finished[j]
        s = services[t]
        remaining[s] = duration_steps[s]
        finished[j] = rows[t]
    return k


finish_tasks_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_finish_tasks_loop)


def _set_drawn_loop(draws: F64, p: float, rows: I64, mask: B, out: I64) -> int:
    """``out[:k] = rows[draws < p]``; ``mask[out[:k]] = True``; return ``k``."""
    k = 0
    for j in range(draws.size):
        if draws[j] < p:  # p is small: a branch mostly not taken
            r = rows[j]
            out[k] = r
            mask[r] = True
            k += 1
    return k


set_drawn_jit = numba.njit(cache=True, nogil=True)(_set_drawn_loop)


def _free_slots_loop(present: B, words: U64, held: I32, out: I64) -> int:
    """The lowest absent slots holding no replica, as many as ``out`` takes; return how many.

    ``words`` views the head of ``present`` as 8-slot words: a word of eight present slots (most
    of them) is skipped whole. An absent slot's replica count is a scattered read (a cache miss):
    the counts of a batch of absent slots are prefetched, then read in slot order.
    """
    batch = np.empty(_FREE_BATCH + 8, dtype=np.int64)
    k = 0
    c = 0
    for j in range(words.size + 1):
        if j < words.size and words[j] == ALL_PRESENT:
            continue
        for i in range(8 * j, min(8 * j + 8, present.size)):  # the last "word": the tail rows
            if not present[i]:
                prefetch_write(held, i)
                batch[c] = i
                c += 1
        if c >= _FREE_BATCH or j == words.size:
            for t in range(c):
                if k == out.size:
                    return k
                if held[batch[t]] == 0:
                    out[k] = batch[t]
                    k += 1
            c = 0
    return k


free_slots_jit = numba.njit(cache=True, nogil=True)(_free_slots_loop)


#: Releases between the prefetch of a node's and a service's rows and their update.
_RELEASE_AHEAD = 16


def _release_loop(nodes_of: I32, services_of: I32, demand: F32, used: F32, held: I32) -> None:
    """Subtract released replicas' demand from their nodes, then clamp those rows at zero.

    ``subtract.at(used, nodes_of, demand[services_of])``; ``subtract.at(held, nodes_of, 1)``;
    then ``np.maximum(used[rows], 0)`` on the rows released from.

    Row by row in the given order, as ``ufunc.at`` applies repeated indices; the clamp comes after
    every subtraction (a node may release several replicas). Only released rows can have gone
    below zero: clamping all of `used` read 120 MB at 1e7 nodes for a few thousand rows.
    numpy's maximum turns negatives and -0.0 into +0.0 and keeps NaN. The rows are scattered:
    each node's and service's are asked for `_RELEASE_AHEAD` releases early.
    """
    used_rows, demand_rows = used[:, 0], demand[:, 0]  # (a row's address: its first value's)
    count = nodes_of.size
    for j in range(count):
        if j + _RELEASE_AHEAD < count:
            prefetch_write(used_rows, nodes_of[j + _RELEASE_AHEAD])
            prefetch_write(held, nodes_of[j + _RELEASE_AHEAD])
            prefetch_read(demand_rows, services_of[j + _RELEASE_AHEAD])
        node, service = nodes_of[j], services_of[j]
        for c in range(used.shape[1]):
            used[node, c] -= demand[service, c]
        held[node] -= 1
    for j in range(nodes_of.size):
        node = nodes_of[j]
        for c in range(used.shape[1]):
            x = used[node, c]
            if x < 0 or (x == 0 and np.signbit(x)):
                used[node, c] = 0


release_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_release_loop)


def _capacity_units_u8_loop(
    cores: NDArray[np.uint8],
    up: B,
    reputation: F32,
    floor: np.float32,
    out: NDArray[np.uint8],
    lo: int,
    hi: int,
) -> None:
    """`_capacity_units_loop` of byte core counts into a uint8 ``out``.

    An eighth of the bytes written (and read later by the economics). A multiply by the condition,
    not a branch, over slices indexed from 0: the loop vectorizes (indexed from ``lo``, numba's
    negative-index wrap of every subscript kept it scalar, ~5x slower).
    """
    c, u, rep, o = cores[lo:hi], up[lo:hi].view(np.uint8), reputation[lo:hi], out[lo:hi]
    for i in range(o.size):
        o[i] = c[i] * (u[i] & np.uint8(rep[i] >= floor))


capacity_units_u8_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(
    _capacity_units_u8_loop
)


def _mean_by_kind_loop(kind: NDArray[np.int8], values: F32, rows: I64, out: F64) -> None:
    """``out[k]`` = mean of ``values[rows]`` over the rows of kind ``k`` (NaN where none).

    As ``np.bincount(kind[rows], weights=values[rows])`` over ``np.bincount(kind[rows])``: float64
    sums in row order, divided by ``max(count, 1)``. Kinds must index ``out``.
    """
    counts = np.zeros(out.size, dtype=np.int64)
    sums = np.zeros(out.size, dtype=np.float64)
    for r in rows:
        k = kind[r]
        counts[k] += 1
        sums[k] += np.float64(values[r])
    for k in range(out.size):
        out[k] = sums[k] / np.float64(max(counts[k], 1)) if counts[k] > 0 else np.nan


mean_by_kind_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_mean_by_kind_loop)


def _present_rows_loop(rows: I64, present: B, out: I64) -> int:
    """``out[:k] = rows[present[rows]]``; return ``k``."""
    k = 0
    for r in rows:
        if present[r]:
            out[k] = r
            k += 1
    return k


present_rows_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_present_rows_loop)


def _append_drawn_loop(draws: F64, p: float, rows: I64, out: I64, k: int) -> int:
    """``out[k : k + j] = rows[draws < p]``; return ``k + j``."""
    for j in range(draws.size):
        if draws[j] < p:
            out[k] = rows[j]
            k += 1
    return k


append_drawn_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_append_drawn_loop)


def _provider_share_loop(count: I64, rows: I64, price: int, fee_bps: int, owner_bps: int) -> int:
    """Provider shares of the batches ``rows``, summed (int64, wrapping as numpy's sum does).

    Per batch, as the numpy statements: ``amount = count * price``, ``fee = amount * fee_bps //
    10_000``, ``owner = (amount - fee) * owner_bps // 10_000``, share ``amount - fee - owner``.
    """
    total = 0
    for r in rows:
        amount = count[r] * price
        fee = amount * fee_bps // 10_000
        owner = (amount - fee) * owner_bps // 10_000
        total += amount - fee - owner
    return total


provider_share_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_provider_share_loop)


def _count_codes_loop(values: NDArray[np.int8], codes: I64) -> int:
    """``sum(np.count_nonzero(values == c) for c in codes)``."""
    count = 0
    for c in codes:  # codes outside: the loop over the values vectorizes
        for v in values:
            count += v == c
    return count


count_codes_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_count_codes_loop)


def _placed_rows_loop(replica: I32, node: I32, on: I32, no_node: int, out: I64) -> int:
    """``r = replica[node >= 0]``; ``out[:k] = r[on[r] != no_node]``; return ``k``."""
    k = 0
    for j in range(replica.size):
        if node[j] >= 0:
            r = replica[j]
            if on[r] != no_node:
                out[k] = r
                k += 1
    return k


placed_rows_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_placed_rows_loop)
