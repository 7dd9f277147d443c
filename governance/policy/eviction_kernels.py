"""Compiled scatters of `apply_evictions`: evictions executed, usage released, flaps counted.

``np.subtract.at``/``np.add.at`` and the ``np.unique`` before them cost ~0.5 us per evicted
replica at 1e7 nodes; these loops do the same updates in the same (row) order, so the results
are those of the numpy statements kept in the tests. The evicted rows are scattered over tables
of millions of rows, so each touch is a cache miss: the rows `AHEAD` places on are prefetched.
"""

from __future__ import annotations

import numba
import numpy as np

from governance.policy.prefetch import prefetch_read
from governance.policy.types import F32, F64, I8, I32, I64

AHEAD = 16  # evicted rows between a row's prefetch and its use


def _execute_loop(done: I32, node: I32, evict_at_s: F64, evict_reason: I8, last_node: I32,
                  last_at_s: F64, evictions: I32, used: F32, held: I32, service: I32,
                  demand: F32, now_s: float, unscheduled: I32) -> int:  # fmt: skip
    """Execute the evictions of rows ``done``: what these numpy statements, in order, do.

    ::

        unscheduled = done[~np.isfinite(evict_at_s[done])]
        from_node = node[done]
        np.subtract.at(used, from_node, demand[service[done]]); np.subtract.at(held, from_node, 1)
        last_node[done], last_at_s[done] = from_node, now_s
        evictions[done] += 1
        node[done], evict_at_s[done], evict_reason[done] = -1, np.inf, -1

    Every read comes before every write, so a row named twice reads its old values and the last
    write wins, as with fancy indexing. Returns how many ``unscheduled`` rows it wrote.
    """
    m = done.shape[0]
    from_node = np.empty(m, dtype=node.dtype)
    bumped = np.empty(m, dtype=evictions.dtype)
    found = 0
    for j in range(m):
        if j + AHEAD < m:
            ahead = done[j + AHEAD]
            prefetch_read(node, ahead)
            prefetch_read(evict_at_s, ahead)
            prefetch_read(evictions, ahead)
            prefetch_read(service, ahead)
        r = done[j]
        from_node[j] = node[r]
        bumped[j] = evictions[r] + 1
        if not np.isfinite(evict_at_s[r]):
            unscheduled[found] = r
            found += 1
    for j in range(m):
        if j + AHEAD < m:
            prefetch_read(used, from_node[j + AHEAD])
            prefetch_read(held, from_node[j + AHEAD])
            prefetch_read(last_node, done[j + AHEAD])
            prefetch_read(last_at_s, done[j + AHEAD])
            prefetch_read(evict_reason, done[j + AHEAD])
        n, s = from_node[j], service[done[j]]
        for r in range(used.shape[1]):
            used[n, r] -= demand[s, r]
        held[n] -= 1
    for j in range(m):
        r = done[j]
        last_node[r], last_at_s[r], evictions[r] = from_node[j], now_s, bumped[j]
        node[r], evict_at_s[r], evict_reason[r] = -1, np.inf, -1
    return found


def _count_flaps_loop(service: I32, rows: I32 | I64, window_started_s: F64, in_window: I32,
                      now_s: float, flap_window_s: float) -> None:  # fmt: skip
    """Restart the expired windows of the rows' services, then count one eviction per row.

    A service met twice is tested again after its restart: ``now_s - now_s`` passes the test
    only when ``flap_window_s <= 0``, and then the restart writes the same values again.
    """
    for j in range(rows.shape[0]):
        s = service[rows[j]]
        if now_s - window_started_s[s] >= flap_window_s:
            window_started_s[s] = now_s
            in_window[s] = 0
    for j in range(rows.shape[0]):
        in_window[service[rows[j]]] += 1


_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
execute_loop = _jit(_execute_loop)
count_flaps_loop = _jit(_count_flaps_loop)
