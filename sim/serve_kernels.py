"""Compiled passes of `serving.serve`: one loop over the nodes, the replicas or the services each.

Numpy needs a pass and a temporary per operation; at 1e7 nodes serving is bound by that memory
traffic. Each loop here does per row exactly the operations of the numpy statements it replaces (no
fast-math; float32 stays float32), so results are bit-for-bit equal. Reductions are integer sums
(exact in any order). No random draws here: the caller draws with numpy and passes the noise in.
"""

from __future__ import annotations

import numba
import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros
from numpy.typing import NDArray

from governance.policy.prefetch import prefetch_read
from settlement.economics.prefetch import prefetch_write
from sim.world import ADVERSARIAL_BIT, F32, I32, I64, RING_BIT, B

U8 = NDArray[np.uint8]

_SERVES = np.uint8(1)
_KIND_BITS = ADVERSARIAL_BIT | RING_BIT

#: Positions in the service pass's statistics vector.
REQUESTS, FAILED, SLA, AVAILABLE, DESIRED = range(5)
#: Positions in the replica pass's row counts (lengths of the row lists it fills).
PENDING, FAILING, ADVERSARY, WASH = range(4)
#: Rows between the prefetch of a scattered row and its use (the short failing / pending lists).
_AHEAD = 32
#: Replica rows between the prefetch of a host's code byte and its use: enough misses in flight to
#: hide memory latency. (1e7 nodes, captured hosts, the gather alone: 32 ahead 21 ms, 128 ahead
#: 9 ms, 512 ahead 9 ms; the whole pass 24-29 ms at 32, 16-18 ms at 128.)
_GATHER_AHEAD = 128
#: Node rows per block of the node pass (its overload flags stay in L1).
_NODE_BLOCK = 512
#: Replica rows per block of the replica pass (a multiple of 8: its flags are read as words).
_REPLICA_BLOCK = 256


def _request_count(lam: np.float32, noise: np.float32) -> np.int64:
    """``rint(max(sqrt(lam) * noise + lam, 0))`` in float32, as `serving.draw_requests` states.

    float64 sqrt rounded to float32 is the correctly rounded float32 sqrt (53 >= 2 * 24 + 2 bits),
    and rint of a float32 is exact in float64: numba types both in float64.
    """
    draw = np.float32(np.sqrt(np.float64(lam))) * noise + lam
    if draw < 0:
        draw = np.float32(0.0)
    return np.int64(np.rint(np.float64(draw)))


_request_count_jit = numba.njit(cache=True, inline="always")(_request_count)


def _requests_loop(lam: np.float32, weight: F32, noise: F32, out: I64) -> None:
    for s in range(out.size):
        out[s] = _request_count_jit(lam * weight[s], noise[s])


requests_jit = numba.njit(cache=True, nogil=True)(_requests_loop)


def _node_pass_loop(
    used: F32,
    overload: F32,
    up: B,
    failing: B,
    kind_bits: U8,
    held: I32,
    code: U8,
    jobs_ok: I32,
    jobs_bad: I32,
    lo: int,
    hi: int,
) -> None:
    """Per slot in ``[lo, hi)``: serves (not overloaded, up, not failing), code byte, job counts.

    ``code`` has one row more than the slots: ``code[NO_NODE]`` reads a 0 (serves nothing); the
    pass that ends at the last slot writes it. In blocks: the overload test of a block (a strided
    float read) first, then its bytes and counts; each loop vectorizes, one fused loop did not.
    """
    n = kind_bits.size
    over = np.empty(_NODE_BLOCK, dtype=np.uint8)
    up_b, failing_b = up.view(np.uint8), failing.view(np.uint8)
    for start in range(lo, hi, _NODE_BLOCK):
        end = min(start + _NODE_BLOCK, hi)
        u, cap = used[start:end], overload[start:end]
        for i in range(end - start):
            over[i] = np.uint8(u[i, 0] > cap[i])  # NaN usage is not overloaded
        bits, h, c = kind_bits[start:end], held[start:end], code[start:end]
        on, off, good_jobs, bad_jobs = (
            up_b[start:end],
            failing_b[start:end],
            jobs_ok[start:end],
            jobs_bad[start:end],
        )
        for i in range(end - start):
            # Bitwise, not short-circuit: a branch per flag mispredicts on flaky and failing rows.
            ok = on[i] & ~(off[i] | over[i]) & _SERVES
            c[i] = bits[i] | ok
            good = h[i] * np.int32(ok)
            good_jobs[i] = good
            bad_jobs[i] = h[i] - good
    if hi == n:
        code[n] = 0


node_pass_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_node_pass_loop)


def _replica_pass_loop(
    on: I32,
    code: U8,
    violations: I32,
    ok: B,
    rows: I64,
    counts: I64,
    lo: int,
    hi: int,
) -> None:
    """Per replica row in ``[lo, hi)``: serves?, and listed when special.

    ``rows`` is (4, r): pending rows, failing rows (placed on a node that does not serve), rows on
    adversarial slots that serve or not, and the hosts of serving ring replicas, each list written
    from column ``lo``; ``counts`` gets their lengths. Recent SLA violations count down on a
    serving row and up on a failing one.

    In blocks: the hosts' code bytes are gathered first (each read asked for `_GATHER_AHEAD` rows
    early; a read prefetch, since the other half's thread reads the same bytes), then the flags and
    countdowns of the block in a loop that vectorizes; only rows that do not serve or sit on an
    adversarial slot (a few in a hundred) are visited one by one, found eight at a time.
    """
    none = code.size - 1  # ``code[NO_NODE]``: the spare last row, 0 (serves nothing)
    block = np.empty(_REPLICA_BLOCK, dtype=np.uint8)
    special = np.empty(_REPLICA_BLOCK, dtype=np.uint8)
    special_w = special.view(np.uint64)
    ok_b = ok.view(np.uint8)
    ahead = min(lo + _GATHER_AHEAD, hi)
    for r in range(lo, ahead):
        prefetch_read(code, on[r])
    pending = failing = adversary = wash = lo
    for start in range(lo, hi, _REPLICA_BLOCK):
        end = min(start + _REPLICA_BLOCK, hi)
        size = end - start
        hosts = on[start:end]
        for j in range(size):
            if ahead < hi:  # the host's code byte is a scattered read: ask for it early
                prefetch_read(code, on[ahead])
                ahead += 1
            node = hosts[j]
            block[j] = code[node if node >= 0 else none]
        good_b, count = ok_b[start:end], violations[start:end]
        for j in range(size):
            c = block[j]
            good = c & _SERVES
            good_b[j] = good
            v = count[j]
            count[j] = v - np.int32(v > 0) if good else v + np.int32(hosts[j] >= 0)
            special[j] = (good ^ _SERVES) | (c & _KIND_BITS)
        special[size:] = 0
        for w in range((size + 7) // 8):
            hit = special_w[w]
            while hit != 0:
                # (a numba intrinsic: numba passes the typing context itself)
                byte = np.int64(trailing_zeros(hit)) >> 3  # type: ignore[call-arg]
                hit &= ~(np.uint64(0xFF) << np.uint64(8 * byte))  # the row's whole byte
                j = 8 * w + byte
                c, r = block[j], start + j
                if c & ADVERSARIAL_BIT:
                    rows[ADVERSARY, adversary] = r
                    adversary += 1
                if c & _SERVES:
                    if c & RING_BIT:
                        rows[WASH, wash] = hosts[j]
                        wash += 1
                elif hosts[j] < 0:
                    rows[PENDING, pending] = r
                    pending += 1
                else:
                    rows[FAILING, failing] = r
                    failing += 1
    counts[PENDING], counts[FAILING], counts[ADVERSARY], counts[WASH] = (
        pending - lo,
        failing - lo,
        adversary - lo,
        wash - lo,
    )


replica_pass_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_replica_pass_loop)


def _service_pass_loop(
    replicas: I32,
    active: B,
    req: I64,
    bad: I64,
    pending: I64,
    first: I64,
    ok: B,
    table: I64,
    sla: B,
    stats: I64,
    sla_failed_share: float,
    s_lo: int,
    s_hi: int,
) -> None:
    """Per service in ``[s_lo, s_hi)``: split its requests over running replicas, failures, SLA.

    ``table`` gets (quotient, quotient + remainder) per service: what a running row and the first
    running row serve. ``stats`` gets the totals of these services (requests, failed, SLA
    breaches, available, desired), integer sums.
    """
    stats[:] = 0
    reps, live, rq, n_bad, n_pending = (
        replicas[s_lo:s_hi],
        active[s_lo:s_hi],
        req[s_lo:s_hi],
        bad[s_lo:s_hi],
        pending[s_lo:s_hi],
    )
    firsts, shares, broken = first[s_lo:s_hi], table[2 * s_lo : 2 * s_hi], sla[s_lo:s_hi]
    for s in range(reps.size):
        n_ok = np.int64(reps[s]) - n_bad[s]
        n_running = max(np.int64(reps[s]) - n_pending[s], 1)
        desired = reps[s] if live[s] else np.int32(0)
        r = rq[s] if live[s] else np.int64(0)
        rq[s] = r
        quotient = r // n_running
        extra = r - quotient * n_running if ok[firsts[s]] else np.int64(0)  # one division
        shares[2 * s] = quotient
        shares[2 * s + 1] = quotient + extra
        failed = r - (quotient * n_ok + extra)
        broke = (failed > sla_failed_share * r or n_ok * 2 < desired) and live[s]
        broken[s] = broke
        stats[REQUESTS] += r
        stats[FAILED] += failed
        stats[SLA] += 1 if broke else 0
        stats[AVAILABLE] += min(n_ok, np.int64(desired))
        stats[DESIRED] += desired


service_pass_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_service_pass_loop)


def _shares_loop(
    table: I64,
    slot: I64,
    ok: B,
    on: I32,
    served: I32 | I64,
    provider: I32 | I64,
    lo: int,
    hi: int,
) -> None:
    """Per replica row in ``[lo, hi)``: requests it served (0 if it did not serve) and its host.

    ``served`` may be int32 when every ``table`` entry fits one (the caller knows).
    """
    slots, serves, hosts = slot[lo:hi], ok[lo:hi].view(np.uint8), on[lo:hi]
    count, host = served[lo:hi], provider[lo:hi]
    for r in range(count.size):
        count[r] = table[slots[r]] * serves[r]  # a multiply, not a branch: the loop vectorizes
        host[r] = max(hosts[r], 0)


shares_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_shares_loop)


def _add_one_loop(target: I32 | I64, rows: I32 | I64) -> None:
    """``np.add.at(target, rows, 1)``: repeated rows count once per occurrence.

    The rows are scattered (failing hosts, their services): each is asked for `_AHEAD` rows early.
    """
    for i in range(rows.size):
        if i + _AHEAD < rows.size:
            prefetch_write(target, rows[i + _AHEAD])
        target[rows[i]] += 1


add_one_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_add_one_loop)


def _zero_rows_loop(target: I32 | I64, rows: I32 | I64) -> None:
    """``target[rows] = 0``, each scattered row asked for `_AHEAD` rows early."""
    for i in range(rows.size):
        if i + _AHEAD < rows.size:
            prefetch_write(target, rows[i + _AHEAD])
        target[rows[i]] = 0


zero_rows_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_zero_rows_loop)
