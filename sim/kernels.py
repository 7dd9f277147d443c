"""Compiled per-slot passes of a simulator step (reachability, observations, capacity, KPIs, tasks).

Each loop replaces a few numpy passes and their temporaries by one, doing per row exactly what the
numpy statements did (no fast-math), so results are bit-for-bit equal. Float sums stay in numpy:
the KPI loop only compacts the values numpy then sums, in the same order as a fancy-index gather.
"""

from __future__ import annotations

import numba
import numpy as np

from sim.world import F32, F64, I32, I64, B


def _reachability_loop(present: B, down: B, up: B, last_heartbeat_s: F64, now_s: float) -> int:
    """``up = present & ~down``; up slots heartbeat at ``now_s``; return how many are up."""
    count = 0
    for i in range(present.size):
        u = present[i] and not down[i]
        up[i] = u
        if u:
            last_heartbeat_s[i] = now_s
            count += 1
    return count


reachability_jit = numba.njit(cache=True, nogil=True)(_reachability_loop)


def _uptime_probed_loop(up: B, probed: B, uptime: F32, rows: I64) -> int:
    """``uptime = float32(up)``; ``rows[:k] = flatnonzero(probed & up)``; return ``k``."""
    k = 0
    for i in range(up.size):
        u = up[i]
        uptime[i] = np.float32(1.0) if u else np.float32(0.0)
        if u and probed[i]:
            rows[k] = i
            k += 1
    return k


uptime_probed_jit = numba.njit(cache=True, nogil=True)(_uptime_probed_loop)


def _capacity_units_loop(cores: I64, up: B, reputation: F32, floor: np.float32, out: I64) -> None:
    """``out = cores * (up & (reputation >= floor))`` (a float32 comparison, NaN earns nothing)."""
    for i in range(cores.size):
        out[i] = cores[i] if up[i] and reputation[i] >= floor else 0


capacity_units_jit = numba.njit(cache=True, nogil=True)(_capacity_units_loop)


def _compact_pair_loop(mask: B, first: F32, second: F32, out_first: F32, out_second: F32) -> int:
    """``first[mask]`` and ``second[:, 0][mask]`` into the outputs' heads; return their length.

    The compacted values are the fancy-index gather's, in its order, so numpy sums them the same.
    """
    k = 0
    for i in range(mask.size):
        if mask[i]:
            out_first[k] = first[i]
            out_second[k] = second[i, 0]
            k += 1
    return k


compact_pair_jit = numba.njit(cache=True, nogil=True)(_compact_pair_loop)


def _strided_rows_loop(mask: B, stride: int, out: I64) -> int:
    """``flatnonzero(mask)[::stride]`` into the head of ``out``; return its length."""
    k = 0
    skip = 0
    for i in range(mask.size):
        if mask[i]:
            if skip == 0:
                out[k] = i
                k += 1
                skip = stride
            skip -= 1
    return k


strided_rows_jit = numba.njit(cache=True, nogil=True)(_strided_rows_loop)


def _finish_tasks_loop(
    task_rows: I64,
    node: I32,
    service: I32,
    up: B,
    remaining: I32,
    duration_s: F32,
    done: I64,
) -> int:
    """Count down the tasks running on up nodes; ``done[:k]`` = those that finished; return ``k``.

    A finished task's countdown restarts at its duration. Task services have one replica row
    each, so a service appears once in ``task_rows`` (numpy's fancy ``-=`` counted a repeat once).
    """
    k = 0
    for j in range(task_rows.size):
        r = task_rows[j]
        on = node[r]
        if on < 0 or not up[on]:
            continue
        s = service[r]
        remaining[s] -= 1
        if remaining[s] <= 0:
            done[k] = r
            k += 1
    for j in range(k):
        s = service[done[j]]
        remaining[s] = np.int32(duration_s[s])
    return k


finish_tasks_jit = numba.njit(cache=True, nogil=True)(_finish_tasks_loop)
