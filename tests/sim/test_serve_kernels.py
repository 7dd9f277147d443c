"""The compiled passes of `serve` equal the numpy statements they replace (references here)."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import serve_kernels as k
from sim.world import ADVERSARIAL_BIT, RING_BIT

SEEDS = st.integers(0, 2**32 - 1)


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, m=st.integers(0, 400), scale=st.sampled_from([1.0, 0.5, 20.0, 3e5, 0.0]))
def test_requests_equal_the_float32_numpy_rule(seed: int, m: int, scale: float) -> None:
    """rint(max(sqrt(rate) * noise + rate, 0)) in float32, including ties, zeros and big rates."""
    rng = np.random.default_rng(seed)
    weight = rng.choice(np.r_[rng.gamma(2.0, 0.5, 8), 0.0, 0.25, 1e-30], m).astype(np.float32)
    special = np.r_[rng.standard_normal(8), 0.0, -0.0, -1.0, 0.5, -30.0]
    noise = rng.choice(special, m).astype(np.float32)
    lam = np.float32(scale) * weight
    draws = np.sqrt(lam)
    draws *= noise
    draws += lam
    draws[draws < 0] = 0
    want = np.rint(draws).astype(np.int64)
    got = np.empty(m, dtype=np.int64)
    k.requests_jit(np.float32(scale), weight, noise, got)
    assert got.tolist() == want.tolist()


def _nodes(rng: np.random.Generator, n: int):  # type: ignore[no-untyped-def]
    cpu = rng.choice(np.array([2000, 4000], dtype=np.float32), n)
    used = np.zeros((n, 3), dtype=np.float32)
    used[:, 0] = cpu * rng.choice(np.array([0.5, 1.0, 1.0001, 1.01, np.nan], np.float32), n)
    overload = cpu * 1.0001
    up, failing = rng.random(n) < 0.8, rng.random(n) < 0.2
    bits = rng.choice(np.array([0, ADVERSARIAL_BIT, ADVERSARIAL_BIT | RING_BIT], np.uint8), n)
    held = rng.integers(0, 5, n).astype(np.int32)
    return used, overload, up, failing, bits, held


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, n=st.integers(0, 1500), split=st.booleans())
def test_node_pass_equals_numpy(seed: int, n: int, split: bool) -> None:
    """Serving flag (NaN usage is not overloaded), code bytes with the sentinel row, job counts.

    Whole, or as two halves at any cut (the pass works in blocks from ``lo``).
    """
    rng = np.random.default_rng(seed)
    used, overload, up, failing, bits, held = _nodes(rng, n)
    ok = ~(used[:, 0] > overload) & up & ~failing
    want_code = np.r_[bits | ok.view(np.uint8), np.uint8(0)]
    code = np.full(n + 1, 99, dtype=np.uint8)
    jobs_ok, jobs_bad = np.empty(n, np.int32), np.empty(n, np.int32)
    cuts = [0, int(rng.integers(0, n + 1)), n] if split else [0, n]
    for lo, hi in itertools.pairwise(cuts):
        k.node_pass_jit(used, overload, up, failing, bits, held, code, jobs_ok, jobs_bad, lo, hi)
    assert code.tolist() == want_code.tolist()
    assert jobs_ok.tolist() == (held * ok).tolist()
    assert jobs_bad.tolist() == (held - held * ok).tolist()


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, n=st.integers(1, 60), r=st.integers(0, 1200), split=st.booleans())
def test_replica_pass_equals_numpy(seed: int, n: int, r: int, split: bool) -> None:
    """Serving rows, the four row lists and the SLA countdown, whole or as two halves."""
    rng = np.random.default_rng(seed)
    code = np.r_[rng.choice(np.array([1, 1, 1, 0, 2, 3, 4, 5, 6, 7], np.uint8), n), np.uint8(0)]
    on = rng.integers(-1, n, r).astype(np.int32)
    violations = rng.choice([0, 0, 1, 3], r).astype(np.int32)
    # reference: the numpy statements of the former `serve`
    rep_code = code[on]
    ok_want = (rep_code & 1).astype(bool)
    bad = np.flatnonzero(~ok_want)
    running = on[bad] >= 0
    pending_rows, failing_rows = bad[~running], bad[running]
    v_want = violations.copy()
    recovering = np.flatnonzero(v_want > 0)
    v_want[recovering[ok_want[recovering]]] -= 1
    v_want[failing_rows] += 1
    ok = np.empty(r, dtype=np.bool_)
    rows = np.full((4, r), -9, np.int64)
    cuts = [0, int(rng.integers(0, r + 1)), r] if split else [0, r]
    lists: list[list[int]] = [[], [], [], []]
    for lo, hi in itertools.pairwise(cuts):
        counts = np.zeros(4, np.int64)
        k.replica_pass_jit(on, code, violations, ok, rows, counts, lo, hi)
        for i in range(4):
            lists[i] += rows[i, lo : lo + counts[i]].tolist()
    assert ok.tolist() == ok_want.tolist()
    assert lists[k.PENDING] == pending_rows.tolist()
    assert lists[k.FAILING] == failing_rows.tolist()
    assert lists[k.ADVERSARY] == np.flatnonzero(rep_code & ADVERSARIAL_BIT).tolist()
    assert lists[k.WASH] == on[(rep_code & 5) == 5].tolist()
    assert violations.tolist() == v_want.tolist()


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, m=st.integers(0, 200), big=st.booleans())
def test_service_pass_equals_numpy(seed: int, m: int, big: bool) -> None:
    """Request split (one division for quotient and remainder), SLA rule and the integer totals."""
    rng = np.random.default_rng(seed)
    replicas = rng.integers(1, 5, m).astype(np.int32)
    active = rng.random(m) < 0.8
    req = rng.integers(0, 2**40 if big else 60, m).astype(np.int64)
    bad = rng.integers(0, replicas + 1).astype(np.int64)
    pending = rng.integers(0, bad + 1).astype(np.int64)
    r = int(replicas.sum())
    ok = rng.random(r) < 0.7
    first = np.zeros(m, np.int64)
    first[1:] = np.cumsum(replicas[:-1])
    # reference
    req_want = np.where(active, req, 0)
    n_ok = replicas - bad
    n_running = np.maximum(replicas - pending, 1)
    desired = replicas * active
    quotient, remainder = np.divmod(req_want, n_running)
    extra = remainder * ok[first]
    failed = req_want - (quotient * n_ok + extra)
    sla_want = ((failed > 0.05 * req_want) | (n_ok * 2 < desired)) & active
    table, sla, part = np.empty(2 * m, np.int64), np.empty(m, np.bool_), np.empty(5, np.int64)
    stats = np.zeros(5, np.int64)
    for lo, hi in itertools.pairwise([0, int(rng.integers(0, m + 1)), m]):  # two halves
        k.service_pass_jit(
            replicas, active, req, bad, pending, first, ok, table, sla, part, 0.05, lo, hi
        )
        stats += part
    assert req.tolist() == req_want.tolist()
    assert table[0::2].tolist() == quotient.tolist()
    assert table[1::2].tolist() == (quotient + extra).tolist()
    assert sla.tolist() == sla_want.tolist()
    want = [req_want.sum(), failed.sum(), sla_want.sum(), np.minimum(n_ok, desired).sum()]
    assert stats.tolist() == [*(int(x) for x in want), int(desired.sum())]


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, r=st.integers(0, 300), m=st.integers(1, 50), narrow=st.booleans())
def test_shares_equal_the_gather(seed: int, r: int, m: int, narrow: bool) -> None:
    """Into int64 columns, or int32 ones (`serving` when every count fits one)."""
    rng = np.random.default_rng(seed)
    table = rng.integers(0, 2**31 if narrow else 2**40, 2 * m).astype(np.int64)
    slot = rng.integers(0, 2 * m, r).astype(np.int64)
    ok = rng.random(r) < 0.7
    on = rng.integers(-1, 10, r).astype(np.int32)
    dtype = np.int32 if narrow else np.int64
    served, provider = np.empty(r, dtype), np.empty(r, dtype)
    for lo, hi in itertools.pairwise([0, int(rng.integers(0, r + 1)), r]):  # two halves
        k.shares_jit(table, slot, ok, on, served, provider, lo, hi)
    assert served.tolist() == np.where(ok, table[slot], 0).tolist()
    assert provider.tolist() == np.maximum(on, 0).tolist()


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, n=st.integers(1, 30), count=st.integers(0, 100))
def test_add_one_equals_add_at(seed: int, n: int, count: int) -> None:
    """Repeated rows count once per occurrence, as ``np.add.at`` does."""
    rng = np.random.default_rng(seed)
    target = rng.integers(0, 5, n).astype(np.int32)
    rows = rng.integers(0, n, count).astype(np.int64)
    want = target.copy()
    np.add.at(want, rows, 1)
    k.add_one_jit(target, rows)
    assert target.tolist() == want.tolist()


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, n=st.integers(1, 30), count=st.integers(0, 100))
def test_zero_rows_equals_a_fancy_store(seed: int, n: int, count: int) -> None:
    rng = np.random.default_rng(seed)
    target = rng.integers(1, 5, n).astype(np.int64)
    rows = rng.integers(0, n, count).astype(np.int32)
    want = target.copy()
    want[rows] = 0
    k.zero_rows_jit(target, rows)
    assert target.tolist() == want.tolist()
