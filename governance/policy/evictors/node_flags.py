"""The node tests of the built-in node-flagging evictors, as compiled passes into one flag byte.

Each plugin's test ORs its own bit into a flag byte per node (no boolean mask per plugin, no
combining passes), then one short pass sets a bit per flagged node (for the lift to replica rows).
Each test computes what the numpy statement kept in the tests does (float32 where that statement
is float32, the same order). One loop per test, not one loop for all: a row loop that branches on
which tests are on does not vectorise and ran 3x slower than these separate passes at 1e7 nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

import numba
import numpy as np

from governance.policy.evictors.kernels import U8, U64, flag_bits
from governance.policy.prefetch import prefetch_read
from governance.policy.types import F32, F64, I32, I64, Bool, Snapshot

if TYPE_CHECKING:
    from governance.policy.params import PolicyParams


class NodeTest(IntEnum):
    """The node tests with a compiled pass (a plugin names its own in ``node_test``)."""

    DEAD = 0  # heartbeat older than the TTL, or reported unhealthy
    OVERLOADED = 1  # used above overload_fraction * capacity on some resource
    UNDERUSED = 2  # holds replicas, every resource below underused_fraction * capacity
    REPUTATION_FLOOR = 3  # past the newcomer grace, score under floor * tenure factor


FLOOR_AHEAD = 16  # low rows between a join time's prefetch and its use


@dataclass(frozen=True, slots=True)
class NodeFlags:
    """Per node a flag byte (bit i: the i-th requested test), and a bit per flagged node."""

    code: U8
    bits: U64
    any: bool  # some node is flagged


def _dead_loop(last_heartbeat_s: F64, healthy: Bool, oldest_s: float, bit: int, code: U8) -> None:
    """Heartbeat older than ``oldest_s`` or reported unhealthy."""
    for i in range(code.shape[0]):
        stale = (last_heartbeat_s[i] < oldest_s) | (not healthy[i])
        code[i] |= np.uint8(stale) << np.uint8(bit)


def _overloaded_loop(used: F32, capacity: F32, fraction: np.float32, bit: int, code: U8) -> None:
    """Some resource used above ``fraction * capacity`` (float32, as numpy).

    ``used`` and ``capacity`` C-contiguous (`flag_nodes` passes them so).
    """
    if used.shape[1] == 3:  # every real table: the row unrolled over the flat columns
        # Flat indices vectorise; the same (i, r) indexing compiled to a scalar loop (3x the
        # instructions, and slower than the memory at 1e7 nodes).
        u, c = used.reshape(-1), capacity.reshape(-1)
        for i in range(code.shape[0]):
            k = 3 * i
            over = (
                (u[k] > c[k] * fraction)
                | (u[k + 1] > c[k + 1] * fraction)
                | (u[k + 2] > c[k + 2] * fraction)
            )
            code[i] |= np.uint8(over) << np.uint8(bit)
        return
    for i in range(code.shape[0]):
        over = False
        for r in range(used.shape[1]):
            over |= used[i, r] > capacity[i, r] * fraction
        code[i] |= np.uint8(over) << np.uint8(bit)


def _underused_loop(
    used: F32, capacity: F32, held: I32, fraction: np.float32, bit: int, code: U8
) -> None:
    """Holds replicas, and every resource used below ``fraction * capacity`` (float32)."""
    if used.shape[1] == 3:  # as in `_overloaded_loop`
        u, c = used.reshape(-1), capacity.reshape(-1)
        for i in range(code.shape[0]):
            k = 3 * i
            low = (
                (held[i] > 0)
                & (u[k] < c[k] * fraction)
                & (u[k + 1] < c[k + 1] * fraction)
                & (u[k + 2] < c[k + 2] * fraction)
            )
            code[i] |= np.uint8(low) << np.uint8(bit)
        return
    for i in range(code.shape[0]):
        low = held[i] > 0
        for r in range(used.shape[1]):
            low &= used[i, r] < capacity[i, r] * fraction
        code[i] |= np.uint8(low) << np.uint8(bit)


def _below_floor_loop(
    reputation: F32,
    joined_at_s: F64,
    now_s: float,
    floor: float,
    tenure_full_s: float,
    grace_s: float,
    bit: int,
    low: I64,
    code: U8,
) -> None:
    """Score under the float32 floor, then (float64) past ``grace_s`` and under the tenure bar.

    The float32 test runs over every row and keeps the few low rows in ``low``; the bar reads
    ``joined_at_s`` for those rows only, each prefetched `FLOOR_AHEAD` low rows early (the low
    rows are scattered, so each is a cache miss). A NaN score is never low; a NaN tenure keeps
    no node (its bar is NaN), as in numpy.
    """
    floor32 = np.float32(floor)
    found = 0
    for i in range(reputation.shape[0]):
        if reputation[i] < floor32:  # rare: a predicted branch beats a branch-free compaction
            low[found] = i
            found += 1
    for p in range(found):
        if p + FLOOR_AHEAD < found:
            prefetch_read(joined_at_s, low[p + FLOOR_AHEAD])
        i = low[p]
        tenure_s = now_s - joined_at_s[i]
        factor = tenure_s / tenure_full_s
        factor = 1.0 if factor > 1.0 else factor  # np.minimum(factor, 1.0): NaN stays NaN
        keep = (tenure_s < grace_s) | (reputation[i] >= floor * factor)
        if not keep:
            code[i] |= np.uint8(1) << np.uint8(bit)


_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
below_floor_loop = _jit(_below_floor_loop)
dead_loop = _jit(_dead_loop)
overloaded_loop = _jit(_overloaded_loop)
underused_loop = _jit(_underused_loop)


def flag_nodes(
    snapshot: Snapshot, params: PolicyParams, now_s: float, tests: list[NodeTest | None]
) -> NodeFlags:
    """Run ``tests`` (at most eight; test i sets bit i of the flag byte, None sets none)."""
    if len(tests) > 8:
        raise ValueError(f"at most eight node tests per pass, got {len(tests)}")
    nodes, ep = snapshot.nodes, params.eviction
    code = np.zeros(nodes.size, dtype=np.uint8)
    # C order for the flat indexing of the (n, R) loops (no copy: the tables are C order)
    used, capacity = np.ascontiguousarray(nodes.used), np.ascontiguousarray(nodes.capacity)
    for bit, test in enumerate(tests):
        if test == NodeTest.DEAD:
            oldest_s = float(now_s - ep.heartbeat_ttl_s)
            dead_loop(nodes.last_heartbeat_s, nodes.healthy, oldest_s, bit, code)
        elif test == NodeTest.OVERLOADED:
            fraction = np.float32(ep.overload_fraction)
            overloaded_loop(used, capacity, fraction, bit, code)
        elif test == NodeTest.UNDERUSED:
            fraction = np.float32(ep.underused_fraction)
            underused_loop(used, capacity, nodes.replicas_held, fraction, bit, code)
        elif test == NodeTest.REPUTATION_FLOOR:
            _flag_below_floor(snapshot, params, now_s, bit, code)
    bits = flag_bits(code)
    return NodeFlags(code=code, bits=bits, any=bool(bits.any()))


def _flag_below_floor(
    snapshot: Snapshot, params: PolicyParams, now_s: float, bit: int, code: U8
) -> None:
    """Past the newcomer grace and under ``floor * tenure factor`` (`_below_floor_loop`)."""
    nodes, rp = snapshot.nodes, params.reputation
    low = np.empty(nodes.size, dtype=np.int64)  # scratch: its untouched pages cost nothing
    below_floor_loop(
        nodes.reputation,
        nodes.joined_at_s,
        float(now_s),
        float(params.eviction.reputation_floor),
        float(rp.tenure_full_s),
        float(params.tiers.established_tenure_s),
        bit,
        low,
        code,
    )


def one_test(snapshot: Snapshot, params: PolicyParams, now_s: float, test: NodeTest) -> Bool:
    """The nodes one test flags, as a mask (a plugin's own ``nodes``)."""
    flags: Bool = flag_nodes(snapshot, params, now_s, [test]).code.view(np.bool_)
    return flags
