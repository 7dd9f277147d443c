"""Compiled passes of a sampled placement round: the capacity check of its picks, its usage update.

A round's picks are random rows of node tables as long as the network. Numpy gathers each column
into a temporary and makes a pass per operation; these loops read each pick's rows once (prefetched
a few picks ahead) and do per row exactly the operations of the numpy statements they replace
(float32 stays float32, float64 sums as numpy's), so results are bit-for-bit equal.
"""

from __future__ import annotations

import numba
import numpy as np

from governance.policy.prefetch import prefetch_read, prefetch_row
from governance.policy.types import F32, F64, I8, I32, I64, Bool, Tier

_NEWCOMER = int(Tier.NEWCOMER)


def gather_rows(table: F32, rows: I32 | I64) -> F32:
    """``table[rows]`` of a (m, R) table, in one compiled pass."""
    out = np.empty((rows.shape[0], table.shape[1]), dtype=table.dtype)
    gather_rows_jit(table, rows, out)
    return out


#: Picks between the prefetch of a node's rows and their use.
_AHEAD = 16


def _stable_order_loop(values: I32 | I64) -> I64:
    """``argsort(values, kind="stable")`` of non-negative ``values``.

    One sort of (value, position) packed in an int64 when the values leave room for the
    positions, else a merge sort.
    """
    n = values.shape[0]
    bits = 1
    while (1 << bits) < n:
        bits += 1
    top = np.int64(values.max()) if n else np.int64(0)
    if top >= np.int64(1) << (62 - bits):
        return np.argsort(values, kind="mergesort")
    packed = np.empty(n, dtype=np.int64)
    for i in range(n):
        packed[i] = (np.int64(values[i]) << bits) | i
    packed.sort()
    mask = (np.int64(1) << bits) - 1
    for i in range(n):
        packed[i] &= mask
    return packed


def _resolve_loop(chosen: I32, order: I64, demand: F32, used: F32, capacity: F32, tier: I8,
                  held: I32, tiers_on: bool, fraction: np.float32, quota: int, service: I32,
                  want_replicas: I32, live_domains: int, domain: I32, n_domains: int, ok: Bool,
                  rows: I64,
                  keys: I64) -> int:  # fmt: skip
    """Which optimistic picks fit, in row order; ``order`` is the picks' stable order by node.

    Pick i (node ``chosen[i]``, replica demand ``demand[i]``) fits if its node takes it after
    the earlier picks on it: on every resource ``float64(used[n]) + float64(within) <=
    float64(limit)``, ``within`` the float32 running sum of the demand of the picks on it so far
    and the limit ``capacity[n]`` (times ``fraction`` in float32 for a newcomer when
    ``tiers_on``); with ``tiers_on`` a newcomer also needs ``held[n] + rank < quota``, rank being
    the pick's place among them. The fitting picks of services that spread
    (``want_replicas[service[i]] <= live_domains``) go to ``rows`` with their (service, domain)
    ``keys``, in row order; returns how many (`_drop_repeats_loop` keeps one per key).
    """
    count = chosen.shape[0]
    within = np.empty(used.shape[1], dtype=np.float32)
    rank = 0
    for t in range(count):
        if t + _AHEAD < count:
            ahead = chosen[order[t + _AHEAD]]
            prefetch_row(used, ahead)
            prefetch_row(capacity, ahead)
            prefetch_read(tier, ahead)
            prefetch_read(held, ahead)
        i = order[t]
        n = chosen[i]
        if t and chosen[order[t - 1]] == n:
            rank += 1
            for r in range(within.shape[0]):
                within[r] += demand[i, r]
        else:
            rank = 0
            for r in range(within.shape[0]):
                within[r] = demand[i, r]
        newcomer = tiers_on and tier[n] == _NEWCOMER
        fits = True
        for r in range(used.shape[1]):
            cap = capacity[n, r] * fraction if newcomer else capacity[n, r]
            if not np.float64(used[n, r]) + np.float64(within[r]) <= np.float64(cap):
                fits = False
        if newcomer:
            fits &= held[n] + rank < quota
        ok[i] = fits
    spreading = 0
    for i in range(count):
        if i + _AHEAD < count:  # picks in row order: random node rows again
            prefetch_read(domain, chosen[i + _AHEAD])
        if ok[i] and want_replicas[service[i]] <= live_domains:
            rows[spreading] = i
            keys[spreading] = np.int64(service[i]) * n_domains + domain[chosen[i]]
            spreading += 1
    return spreading


def _drop_repeats_loop(keys: I64, by_key: I64, rows: I64, ok: Bool) -> None:
    """``ok[rows[t]] = False`` for every entry but the first of each run of equal ``keys``.

    ``by_key`` is the stable order of ``keys``, so the first is the earliest row.
    """
    for t in range(1, by_key.shape[0]):
        if keys[by_key[t]] == keys[by_key[t - 1]]:
            ok[rows[by_key[t]]] = False


def _commit_usage_loop(nodes: I32, added: F32, used: F32, held: I32, uniq: I32, service: I32,
                       domain: I32, n_domains: int, keys: I64) -> None:  # fmt: skip
    """Add run c of equal sorted ``nodes`` to its node: usage ``added[c]``, the run's length.

    The run's node goes to ``uniq[c]``, and each entry's pair key ``service * n_domains +
    domain[node]`` to ``keys``.
    """
    total = nodes.shape[0]
    count = 0
    i = 0
    while i < total:
        if i + _AHEAD < total:
            prefetch_row(used, nodes[i + _AHEAD])
            prefetch_read(held, nodes[i + _AHEAD])
            prefetch_read(domain, nodes[i + _AHEAD])
        n = nodes[i]
        d = domain[n]
        keys[i] = np.int64(service[i]) * n_domains + d
        j = i + 1
        while j < total and nodes[j] == n:
            keys[j] = np.int64(service[j]) * n_domains + d
            j += 1
        for r in range(used.shape[1]):
            used[n, r] += added[count, r]
        held[n] += j - i
        uniq[count] = n
        count += 1
        i = j


def _weighted_scores_loop(factors: F32, weights: F64, slots: I64, out: F64) -> None:
    """``out[slots[i]]``: the sum over scorers j of ``weights[j] * float64(factors[i, j])``.

    Scorers of weight 0 are skipped; the sum runs from 0 in scorer order.
    """
    for i in range(factors.shape[0]):
        total = 0.0
        for j in range(factors.shape[1]):
            if weights[j] != 0:
                total = total + weights[j] * np.float64(factors[i, j])
        out[slots[i]] = total


def _best_of_rows_loop(total: F64, rows: I64, pick: I64, finite: Bool) -> None:
    """``pick[b] = argmax(total[b])`` for ``b = rows[i]``, ``finite[i]``: that total is finite.

    The first maximum, or the first NaN if there is one, as ``np.argmax`` picks.
    """
    for i in range(rows.shape[0]):
        b = rows[i]
        best = total[b, 0]
        at = 0
        if not np.isnan(best):
            for j in range(1, total.shape[1]):
                v = total[b, j]
                if np.isnan(v):
                    at = j
                    break
                if v > best:
                    best = v
                    at = j
        pick[b] = at
        finite[i] = np.isfinite(total[b, at])


def _add_weighted_loop(total: F64, weight: float, factor: F64) -> None:
    """``total += weight * factor`` over a (B, k) block, the product rounded first as numpy's."""
    for b in range(total.shape[0]):
        for j in range(total.shape[1]):
            total[b, j] = total[b, j] + weight * factor[b, j]


def _gather_rows_loop(table: F32, rows: I32 | I64, out: F32) -> None:
    """``out[i] = table[rows[i]]`` row by row; the row ``_AHEAD`` on is prefetched.

    Numpy's gather of short rows (a (B, R) fancy index) copies row by row through a generic
    loop, and waits on each random row of a long table in turn.
    """
    count = rows.shape[0]
    for i in range(count):
        if i + _AHEAD < count:
            prefetch_read(table, rows[i + _AHEAD])
        r = rows[i]
        for c in range(table.shape[1]):
            out[i, c] = table[r, c]


def _scatter_rows_loop(values: F32, rows: I64, out: F32) -> None:
    """``out[rows[i]] = values[i]`` row by row (``rows`` distinct)."""
    for i in range(rows.shape[0]):
        r = rows[i]
        for c in range(values.shape[1]):
            out[r, c] = values[i, c]


def _take_picks_loop(block: F64, at: I64, pick: I64, col: int, out: F32) -> None:
    """``out[at[b], col] = block[b, pick[b]]`` for every row b with ``at[b] >= 0`` (as float32).

    Rows in order: the (B, k) block is read front to back, not at each winner's random row.
    """
    for b in range(at.shape[0]):
        i = at[b]
        if i >= 0:
            out[i, col] = block[b, pick[b]]


_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
gather_rows_jit = _jit(_gather_rows_loop)
scatter_rows_jit = _jit(_scatter_rows_loop)
take_picks_jit = _jit(_take_picks_loop)
add_weighted_jit = _jit(_add_weighted_loop)
best_of_rows_jit = _jit(_best_of_rows_loop)
commit_usage_jit = _jit(_commit_usage_loop)
weighted_scores_jit = _jit(_weighted_scores_loop)
stable_order_jit = _jit(_stable_order_loop)
resolve_jit = _jit(_resolve_loop)
drop_repeats_jit = _jit(_drop_repeats_loop)
