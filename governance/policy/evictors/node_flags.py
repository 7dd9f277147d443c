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
from governance.policy.types import F32, F64, I32, Bool, Snapshot

if TYPE_CHECKING:
    from governance.policy.params import PolicyParams


class NodeTest(IntEnum):
    """The node tests with a compiled pass (a plugin names its own in ``node_test``)."""

    DEAD = 0  # heartbeat older than the TTL, or reported unhealthy
    OVERLOADED = 1  # used above overload_fraction * capacity on some resource
    UNDERUSED = 2  # holds replicas, every resource below underused_fraction * capacity
    REPUTATION_FLOOR = 3  # past the newcomer grace, score under floor * tenure factor


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
    """Some resource used above ``fraction * capacity`` (float32, as numpy)."""
    if used.shape[1] == 3:  # every real table: the row unrolled, which vectorises
        for i in range(code.shape[0]):
            over = (
                (used[i, 0] > capacity[i, 0] * fraction)
                | (used[i, 1] > capacity[i, 1] * fraction)
                | (used[i, 2] > capacity[i, 2] * fraction)
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
        for i in range(code.shape[0]):
            low = (
                (held[i] > 0)
                & (used[i, 0] < capacity[i, 0] * fraction)
                & (used[i, 1] < capacity[i, 1] * fraction)
                & (used[i, 2] < capacity[i, 2] * fraction)
            )
            code[i] |= np.uint8(low) << np.uint8(bit)
        return
    for i in range(code.shape[0]):
        low = held[i] > 0
        for r in range(used.shape[1]):
            low &= used[i, r] < capacity[i, r] * fraction
        code[i] |= np.uint8(low) << np.uint8(bit)


_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
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
    for bit, test in enumerate(tests):
        if test == NodeTest.DEAD:
            oldest_s = float(now_s - ep.heartbeat_ttl_s)
            dead_loop(nodes.last_heartbeat_s, nodes.healthy, oldest_s, bit, code)
        elif test == NodeTest.OVERLOADED:
            fraction = np.float32(ep.overload_fraction)
            overloaded_loop(nodes.used, nodes.capacity, fraction, bit, code)
        elif test == NodeTest.UNDERUSED:
            fraction = np.float32(ep.underused_fraction)
            underused_loop(nodes.used, nodes.capacity, nodes.replicas_held, fraction, bit, code)
        elif test == NodeTest.REPUTATION_FLOOR:
            _flag_below_floor(snapshot, params, now_s, bit, code)
    bits = flag_bits(code)
    return NodeFlags(code=code, bits=bits, any=bool(bits.any()))


def _flag_below_floor(
    snapshot: Snapshot, params: PolicyParams, now_s: float, bit: int, code: U8
) -> None:
    """Numpy: the float32 test is one SIMD pass, and the float64 bar runs on its few rows only.

    (A compiled row loop was slower: branching on the rare low rows mispredicts, and
    branch-free it reads ``joined_at_s`` for every row.)
    """
    nodes = snapshot.nodes
    low = np.flatnonzero(nodes.reputation < np.float32(params.eviction.reputation_floor))
    if low.size == 0:
        return
    tenure_s = now_s - nodes.joined_at_s[low]
    factor = np.minimum(tenure_s / params.reputation.tenure_full_s, 1.0)
    bar = params.eviction.reputation_floor * factor
    keep = (tenure_s < params.tiers.established_tenure_s) | (nodes.reputation[low] >= bar)
    code[low[~keep]] |= np.uint8(1 << bit)


def one_test(snapshot: Snapshot, params: PolicyParams, now_s: float, test: NodeTest) -> Bool:
    """The nodes one test flags, as a mask (a plugin's own ``nodes``)."""
    flags: Bool = flag_nodes(snapshot, params, now_s, [test]).code.view(np.bool_)
    return flags
