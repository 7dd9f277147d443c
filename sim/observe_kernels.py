"""Compiled passes of a step's heartbeats and observations: reachability, uptime, probe reads.

As in `sim.kernels`: each loop does per row exactly what the numpy statements did (no fast-math),
so results are bit-for-bit equal.
"""

from __future__ import annotations

import numba
import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

from sim.kernels import ALL_PRESENT
from sim.world import F32, F64, I64, B

_ONE_BITS = np.uint32(0x3F800000)  # float32 1.0


def _heartbeat_rows(
    present: B, down: B, last_heartbeat_s: F64, now_s: float, lo: int, hi: int
) -> int:
    """On rows ``[lo, hi)``: up slots heartbeat at ``now_s``; return how many are up."""
    count = 0
    for i in range(lo, hi):
        u = present[i] and not down[i]
        # A select, not a branch: `u` is random, and a mispredicted branch costs more than a store.
        last_heartbeat_s[i] = now_s if u else last_heartbeat_s[i]
        count += u
    return count


_heartbeat_rows_jit = numba.njit(cache=True, inline="always")(_heartbeat_rows)


def _reachability_loop(present: B, down: B, up: B, last_heartbeat_s: F64, now_s: float) -> int:
    """``up = present & ~down``; up slots heartbeat at ``now_s``; return how many are up.

    Eight slots at a time, the masks viewed as words of 0/1 bytes: a word of eight up slots (nearly
    all of them) stores ``now_s`` eight times without reading the old heartbeats, a word of none
    (the absent tail) leaves them alone; only a mixed word selects slot by slot.
    """
    full = present.size - present.size % 8
    present_w, down_w = present[:full].view(np.uint64), down[:full].view(np.uint64)
    up_w = up[:full].view(np.uint64)
    count = 0
    for j in range(present_w.size):
        u = present_w[j] & ~down_w[j]  # per byte: 1 & ~0 = 1, 1 & ~1 = 0, 0 & x = 0
        up_w[j] = u
        if u == ALL_PRESENT:
            for i in range(8 * j, 8 * j + 8):
                last_heartbeat_s[i] = now_s
            count += 8
        elif u != 0:
            count += _heartbeat_rows_jit(present, down, last_heartbeat_s, now_s, 8 * j, 8 * j + 8)
    for i in range(full, present.size):
        up[i] = present[i] and not down[i]
    return count + _heartbeat_rows_jit(present, down, last_heartbeat_s, now_s, full, present.size)


reachability_jit = numba.njit(cache=True, nogil=True)(_reachability_loop)


def _uptime_probed_loop(up: B, probed: B, uptime: F32, rows: I64) -> int:
    """``uptime = float32(up)``; ``rows[:k] = flatnonzero(probed & up)``; return ``k``.

    ``uptime`` is a reused buffer that mostly holds the value already: its float bits are compared
    (a sequential read) and stored only where a row differs, a store the compiler makes a masked
    vector store, so the cache lines of unchanged rows stay clean (the lines of a 64-row block
    compared whole were nearly all rewritten: a tenth of the rows of a step change state). The
    probed rows come 8 at a time from the masks' words, a set byte found by its trailing zero bits.
    """
    bits, up_bytes = uptime.view(np.uint32), up.view(np.uint8)
    for i in range(up_bytes.size):
        want = np.uint32(up_bytes[i]) * _ONE_BITS
        if bits[i] != want:
            bits[i] = want
    full = up.size - up.size % 8
    up_w, probed_w = up[:full].view(np.uint64), probed[:full].view(np.uint64)
    k = 0
    for j in range(up_w.size):
        hit = up_w[j] & probed_w[j]
        while hit != 0:
            # (a numba intrinsic: numba passes the typing context itself)
            rows[k] = 8 * j + (np.int64(trailing_zeros(hit)) >> 3)  # type: ignore[call-arg]
            k += 1
            hit &= hit - np.uint64(1)
    for i in range(full, up.size):
        if probed[i] and up[i]:
            rows[k] = i
            k += 1
    return k


uptime_probed_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_uptime_probed_loop)


def _gather_every_loop(table: F32, rows: I64, offset: int, every: int, out: F32) -> bool:
    """``out[j] = table[t]`` where ``rows[j] = offset + every * t``.

    ``table`` holds the rows ``offset::every`` of a slot table, contiguous: a sequential read
    instead of one cache line per row of the slot table. Returns False (``out`` incomplete) if a
    row is not of that form. Rows mostly follow one another on the pattern (a probed row is
    missing only when its slot is down): the next row is guessed, and only a miss divides.
    """
    width = table.shape[1]
    t = 0
    at = offset
    for j in range(rows.size):
        r = rows[j]
        if r != at:
            t = (r - offset) // every
            at = offset + every * t
            if at != r:
                return False
        if t < 0 or t >= table.shape[0]:
            return False
        if width == 3:  # the resource table: an unrolled row copy
            out[j, 0], out[j, 1], out[j, 2] = table[t, 0], table[t, 1], table[t, 2]
        else:
            for c in range(width):
                out[j, c] = table[t, c]
        at += every
        t += 1
    return True


gather_every_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_gather_every_loop)


def _every_tables_loop(table: F32, every: int, out: F32) -> None:
    """``out[o, t] = table[o + every * t]`` for every row of ``table`` (one sequential read).

    ``out`` is ``(every, ceil(rows / every), columns)``: ``out[o]`` holds the rows ``o::every``,
    contiguous (rows past the table's end are left as they are).
    """
    o = 0
    t = 0
    for i in range(table.shape[0]):
        for c in range(table.shape[1]):
            out[o, t, c] = table[i, c]
        o += 1
        if o == every:
            o = 0
            t += 1


every_tables_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_every_tables_loop)
