"""Compiled passes of the eviction plugins: dead-node flags, and node flags lifted to replicas.

Each loop reads its columns once with no temporaries, and computes what the plain numpy statement
kept in the tests does. (The other node flags stay numpy: their cache-sized column passes already
run at memory speed, and a row loop over the interleaved resource columns vectorises worse.)
"""

from __future__ import annotations

import numba
import numpy as np

from governance.policy.types import F64, I32, I64, Bool

_U8 = np.ndarray  # uint8 rows
_U64 = np.ndarray  # uint64 words


def _stale_loop(last_heartbeat_s: F64, healthy: Bool, oldest_s: float, out: Bool) -> bool:
    """``out[i]``: heartbeat older than ``oldest_s`` or reported unhealthy; return any."""
    found = False
    for i in range(last_heartbeat_s.shape[0]):
        stale = (last_heartbeat_s[i] < oldest_s) | (not healthy[i])
        out[i] = stale
        found |= stale
    return found


def _flag_bits(code: _U8) -> _U64:
    """One bit per node, set where ``code`` is not 0: an eighth of the bytes, so it stays in cache.

    The replica pass below looks up a random node per row; most rows sit on unflagged nodes, and
    a cache-resident bit answers those far faster than the byte per node in main memory.
    """
    bits = np.zeros((code.shape[0] + 63) >> 6, dtype=np.uint64)
    for n in range(code.shape[0]):
        if code[n]:
            bits[n >> 6] |= np.uint64(1) << np.uint64(n & 63)
    return bits


def _rows_on_codes(node: I32, code: _U8, bits: _U64, rows: I64, codes: _U8) -> int:
    """Replica rows on a flagged node, ascending, and their nodes' codes; return how many."""
    found = 0
    for j in range(node.shape[0]):
        n = node[j]
        if n >= 0 and (bits[n >> 6] >> np.uint64(n & 63)) & np.uint64(1):
            rows[found] = j
            codes[found] = code[n]
            found += 1
    return found


_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
stale_loop = _jit(_stale_loop)
flag_bits = _jit(_flag_bits)
rows_on_codes = _jit(_rows_on_codes)
