"""The built-in node tests lifted to replica rows in one compiled call, with no flag byte per node.

`node_flags` runs each test as its own pass into a flag byte per node; then a bit per flagged
node is packed, then the replicas are scanned: five passes over node-long columns and a 10 MB
flag array written and read back at 1e7 nodes, plus a dispatch per pass (what a small network
pays). Here the nodes go by in chunks of `CHUNK`: the enabled tests write the chunk's flag bytes,
which stay in the L2 cache (one vectorised loop; one per test when consolidation is on), then the
chunk's few flagged nodes set their bit per flagged node and per flag bit (a bit per node is an
eighth of the bytes). The replica pass finds the rows on flagged nodes; each found row's flag
byte is read back from those bits.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numba
import numpy as np

from governance.policy.evictors.kernels import U8, U64
from governance.policy.evictors.node_flags import NodeTest
from governance.policy.prefetch import prefetch_read
from governance.policy.types import F32, F64, I32, I64, Bool, Snapshot

if TYPE_CHECKING:
    from governance.policy.params import PolicyParams

CHUNK = 1 << 18  # nodes per chunk (a multiple of 64): its flag bytes stay in the L2 cache

# Positions in the per-test mask vector: the flag bit each test sets (0: test off).
_DEAD, _OVER, _UNDER, _FLOOR = (
    int(NodeTest.DEAD),
    int(NodeTest.OVERLOADED),
    int(NodeTest.UNDERUSED),
    int(NodeTest.REPUTATION_FLOOR),
)

_inline = numba.njit(cache=True, inline="always", error_model="numpy")


@_inline
def _over_one(used: F32, capacity: F32, i: int, fraction: np.float32) -> bool:
    over = False
    for r in range(used.shape[1]):
        over |= used[i, r] > capacity[i, r] * fraction
    return bool(over)


@_inline
def _under_one(used: F32, capacity: F32, held: I32, i: int, fraction: np.float32) -> bool:
    low = held[i] > 0
    for r in range(used.shape[1]):
        low &= used[i, r] < capacity[i, r] * fraction
    return bool(low)


@_inline
def _kept_above_floor(reputation: F32, joined_at_s: F64, i: int, now_s: float, floor: float,
                      tenure_full_s: float, grace_s: float) -> bool:  # fmt: skip
    """The float64 tenure bar of a node under the float32 floor (as `node_flags`)."""
    tenure_s = now_s - joined_at_s[i]
    factor = tenure_s / tenure_full_s
    factor = 1.0 if factor > 1.0 else factor  # np.minimum(factor, 1.0): NaN stays NaN
    return bool((tenure_s < grace_s) | (reputation[i] >= floor * factor))


@_inline
def _chunk_codes(lo: int, hi: int, masks: U8, last_heartbeat_s: F64, healthy: Bool,
                 oldest_s: float, used: F32, capacity: F32, over_frac: np.float32, held: I32,
                 under_frac: np.float32, reputation: F32, floor32: np.float32,
                 buf: U8) -> None:  # fmt: skip
    """Write the flag bytes of nodes ``lo <= i < hi`` into ``buf[i - lo]`` (``buf`` zeroed).

    The floor test runs its float32 stage only (`_chunk_bits` settles the rest). With the dead
    and overload tests on (every built-in policy but consolidation) one loop writes every
    byte; otherwise each test ORs its bit in its own loop. The loops index slices from 0: an
    index numba cannot prove non-negative gets a wraparound test per access, and the loop no
    longer vectorises.
    """
    size = hi - lo
    if used.shape[1] == 3 and masks[_DEAD] and masks[_OVER] and not masks[_UNDER]:
        md, mo, mf = masks[_DEAD], masks[_OVER], masks[_FLOOR]
        beat, ok, rep = last_heartbeat_s[lo:hi], healthy[lo:hi], reputation[lo:hi]
        u, c = used.reshape(-1)[3 * lo : 3 * hi], capacity.reshape(-1)[3 * lo : 3 * hi]
        for k in range(size):
            f = 3 * k
            stale = (beat[k] < oldest_s) | (not ok[k])
            over = (
                (u[f] > c[f] * over_frac)
                | (u[f + 1] > c[f + 1] * over_frac)
                | (u[f + 2] > c[f + 2] * over_frac)
            )
            low = rep[k] < floor32
            buf[k] = (np.uint8(stale) * md) | (np.uint8(over) * mo) | (np.uint8(low) * mf)
        return
    m = masks[_DEAD]
    if m:
        beat, ok = last_heartbeat_s[lo:hi], healthy[lo:hi]
        for k in range(size):
            stale = (beat[k] < oldest_s) | (not ok[k])
            buf[k] |= np.uint8(stale) * m
    m = masks[_OVER]
    if m:
        if used.shape[1] == 3:  # flat indices vectorise (see `node_flags._overloaded_loop`)
            u, c = used.reshape(-1)[3 * lo : 3 * hi], capacity.reshape(-1)[3 * lo : 3 * hi]
            for k in range(size):
                f = 3 * k
                over = (
                    (u[f] > c[f] * over_frac)
                    | (u[f + 1] > c[f + 1] * over_frac)
                    | (u[f + 2] > c[f + 2] * over_frac)
                )
                buf[k] |= np.uint8(over) * m
        else:
            for k in range(size):
                buf[k] |= np.uint8(_over_one(used, capacity, lo + k, over_frac)) * m
    m = masks[_UNDER]
    if m:
        for k in range(size):
            buf[k] |= np.uint8(_under_one(used, capacity, held, lo + k, under_frac)) * m
    m = masks[_FLOOR]
    if m:
        rep = reputation[lo:hi]
        for k in range(size):
            buf[k] |= np.uint8(rep[k] < floor32) * m


@_inline
def _byte_bits(x: np.uint64) -> np.uint64:
    """Bit k set where byte k of ``x`` is not 0 (OR each byte into its low bit, gather those)."""
    x |= x >> np.uint64(4)
    x |= x >> np.uint64(2)
    x |= x >> np.uint64(1)
    x &= np.uint64(0x0101010101010101)
    return (x * np.uint64(0x0102040810204080)) >> np.uint64(56)


@_inline
def _chunk_bits(lo: int, buf: U8, pos: I64, floor_mask: np.uint8, reputation: F32,
                joined_at_s: F64, now_s: float, floor: float, tenure_full_s: float,
                grace_s: float, bits: U64, bit_words: U64) -> bool:  # fmt: skip
    """Set the bits of the chunk's flagged nodes (``buf``, from `_chunk_codes`); any set?

    ``bits`` gets a bit per flagged node, row ``b`` of ``bit_words`` a bit per node whose flag
    byte has bit ``b``. A node flagged by the floor's float32 stage alone needs its float64
    tenure bar now: those few are collected and their join times prefetched first (each is a
    cache miss). A node flagged by another test too keeps that stage's floor bit here; the bar
    is tested only if it holds a replica (`_exact_code`).
    """
    words = buf.view(np.uint64)
    if floor_mask:
        count = 0
        for w in range(words.shape[0]):
            if words[w]:
                for b in range(8 * w, 8 * w + 8):
                    if buf[b] == floor_mask:
                        pos[count] = b
                        count += 1
        for p in range(count):
            prefetch_read(joined_at_s, lo + pos[p])
        for p in range(count):
            b = pos[p]
            if _kept_above_floor(
                reputation, joined_at_s, lo + b, now_s, floor, tenure_full_s, grace_s
            ):
                buf[b] = 0
    found = False
    lows = np.uint64(0x0101010101010101)
    for w in range(words.shape[0]):
        x = words[w]
        if x:
            first = lo + 8 * w  # a multiple of 8: the node's eight bits stay in one word
            word, shift = first >> 6, np.uint64(first & 63)
            bits[word] |= _byte_bits(x) << shift
            for b in range(bit_words.shape[0]):
                bit_words[b, word] |= _byte_bits(x & (lows << np.uint64(b))) << shift
            found = True
    return found


@_inline
def _exact_code(v: int, bit_words: U64, floor_mask: np.uint8, reputation: F32,
                joined_at_s: F64, now_s: float, floor: float, tenure_full_s: float,
                grace_s: float) -> np.uint8:  # fmt: skip
    """Node ``v``'s flag byte from ``bit_words``, its floor bit settled by the tenure bar."""
    code = np.uint8(0)
    for b in range(bit_words.shape[0]):
        bit = (bit_words[b, v >> 6] >> np.uint64(v & 63)) & np.uint64(1)
        code |= np.uint8(bit) << np.uint8(b)
    if (
        code & floor_mask
        and code & ~floor_mask
        and _kept_above_floor(reputation, joined_at_s, v, now_s, floor, tenure_full_s, grace_s)
    ):
        code = np.uint8(code & ~floor_mask)
    return code


ROWS_CHUNK = 1 << 16  # replica rows per chunk of hit bytes (they stay in the L2 cache)


@_inline
def _rows_on_bits(node: I32, bits: U64, rows: I64) -> int:
    """Rows whose node has its bit set (the last word of ``bits`` is 0: pending rows look there).

    Per chunk, a branch-free loop writes a hit byte per row, then eight hit bytes are tested at a
    time: a branch per row on a random node cost more than these two passes.
    """
    half = bits.view(np.uint32)  # little-endian: bit v is bit v & 31 of half-word v >> 5
    none = np.uint32(half.shape[0] - 1)
    hit = np.zeros(min(ROWS_CHUNK, max(8, (node.shape[0] + 7) & ~7)), dtype=np.uint8)
    hit_words = hit.view(np.uint64)
    found = 0
    for lo in range(0, node.shape[0], hit.shape[0]):
        part = node[lo : lo + hit.shape[0]]
        size = part.shape[0]
        for k in range(size):
            v = part[k]
            u = np.uint32(v)
            at = (u >> np.uint32(5)) if v >= 0 else none
            hit[k] = np.uint8((half[at] >> (u & np.uint32(31))) & np.uint32(1))
        hit[size:] = 0
        for w in range((size + 7) >> 3):
            if hit_words[w]:
                for k in range(8 * w, 8 * w + 8):
                    if hit[k]:
                        rows[found] = lo + k
                        found += 1
    return found


def _flagged_rows_loop(node: I32, masks: U8, last_heartbeat_s: F64, healthy: Bool,
                       oldest_s: float, used: F32, capacity: F32, over_frac: np.float32,
                       held: I32, under_frac: np.float32, reputation: F32, joined_at_s: F64,
                       now_s: float, floor: float, tenure_full_s: float, grace_s: float,
                       chunk: int, bits: U64, bit_words: U64, rows: I64,
                       codes: U8) -> int:  # fmt: skip
    """Replica rows on flagged nodes (ascending) and their nodes' flag bytes; return how many.

    ``bits`` (zeroed, a word per 64 nodes) gets a bit per flagged node. No replica is read when
    no node is flagged.
    """
    n = last_heartbeat_s.shape[0]
    floor32 = np.float32(floor)
    chunk = min(chunk, max(64, (n + 63) & ~63))  # a small network: no chunk of empty bytes
    buf = np.zeros(chunk, dtype=np.uint8)
    pos = np.empty(chunk, dtype=np.int64)
    flagged = False
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        buf[:] = 0
        _chunk_codes(lo, hi, masks, last_heartbeat_s, healthy, oldest_s, used, capacity,
                     over_frac, held, under_frac, reputation, floor32, buf)  # fmt: skip
        flagged |= _chunk_bits(lo, buf, pos, masks[_FLOOR], reputation, joined_at_s, now_s,
                               floor, tenure_full_s, grace_s, bits, bit_words)  # fmt: skip
    if not flagged:
        return 0
    found = _rows_on_bits(node, bits, rows)
    for p in range(found):
        codes[p] = _exact_code(node[rows[p]], bit_words, masks[_FLOOR], reputation,
                               joined_at_s, now_s, floor, tenure_full_s, grace_s)  # fmt: skip
    return found


_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
flagged_rows_loop = _jit(_flagged_rows_loop)


def flagged_rows(
    snapshot: Snapshot, params: PolicyParams, now_s: float, tests: list[NodeTest | None]
) -> list[I64]:
    """Per test (at most eight; None: no rows), the assigned replica rows on the nodes it flags.

    The rows of each test come ascending, as `rows_on_flags` gives them.
    """
    masks = _masks(tuple(tests))
    nodes, ep, rp = snapshot.nodes, params.eviction, params.reputation
    n, n_rep = nodes.size, snapshot.replicas.size
    bits = np.zeros(((n + 63) >> 6) + 1, dtype=np.uint64)  # and a 0 word for pending rows
    bit_words = np.zeros((len(tests), bits.shape[0]), dtype=np.uint64)
    # Scratch as long as the replica table: the untouched pages of np.empty cost nothing.
    rows, codes = np.empty(n_rep, dtype=np.int64), np.empty(n_rep, dtype=np.uint8)
    found = flagged_rows_loop(
        snapshot.replicas.node,
        masks,
        nodes.last_heartbeat_s,
        nodes.healthy,
        float(now_s - ep.heartbeat_ttl_s),
        np.ascontiguousarray(nodes.used),  # C order for the flat indexing (no copy: C tables)
        np.ascontiguousarray(nodes.capacity),
        np.float32(ep.overload_fraction),
        nodes.replicas_held,
        np.float32(ep.underused_fraction),
        nodes.reputation,
        nodes.joined_at_s,
        float(now_s),
        float(ep.reputation_floor),
        float(rp.tenure_full_s),
        float(params.tiers.established_tenure_s),
        CHUNK,
        bits,
        bit_words,
        rows,
        codes,
    )
    rows, codes = rows[:found], codes[:found]
    if found == 0 or len(tests) == 1:  # the common steady state of a small network: no rows
        return [rows if test is not None else rows[:0] for test in tests]
    same = int(codes[0])
    if (codes == same).all():  # every row flagged alike (mostly: all on dead nodes)
        return [rows if same >> bit & 1 else rows[:0] for bit in range(len(tests))]
    return [rows[(codes & np.uint8(1 << bit)) != 0] for bit in range(len(tests))]


@functools.lru_cache(maxsize=64)
def _masks(tests: tuple[NodeTest | None, ...]) -> U8:
    """Per `NodeTest`, the flag bits it sets (read-only; built once per plugin list)."""
    if len(tests) > 8:
        raise ValueError(f"at most eight node tests per pass, got {len(tests)}")
    masks = np.zeros(len(NodeTest), dtype=np.uint8)
    for bit, test in enumerate(tests):
        if test is not None:
            masks[test] |= np.uint8(1 << bit)
    masks.flags.writeable = False
    return masks
