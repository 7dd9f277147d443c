"""Compiled passes of the eviction plugins: node flags lifted to replica rows.

Each loop reads its columns once with no temporaries, and computes what the plain numpy statement
kept in the tests does. (The node flags themselves come from `evictors.node_flags`.)
"""

from __future__ import annotations

import numba
import numpy as np

from governance.policy.types import I32, I64

U8 = np.ndarray  # uint8 rows
U64 = np.ndarray  # uint64 words


def flag_bits(code: U8) -> U64:
    """One bit per node, set where ``code`` is not 0: an eighth of the bytes, so it stays in cache.

    The replica pass below looks up a random node per row; most rows sit on unflagged nodes, and
    a cache-resident bit answers those far faster than the byte per node in main memory. (Bit j
    of word w is node 64 * w + j: little-endian words of numpy's little-endian bit packing, which
    runs several times faster than a compiled loop building the words.)
    """
    packed = np.packbits(code != 0, bitorder="little")
    bits = np.zeros((code.shape[0] + 63) >> 6, dtype="<u8")
    bits.view(np.uint8)[: packed.shape[0]] = packed
    out: U64 = bits.astype(np.uint64, copy=False)
    return out


def _rows_on_codes(node: I32, code: U8, bits: U64, rows: I64, codes: U8) -> int:
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
rows_on_codes = _jit(_rows_on_codes)
