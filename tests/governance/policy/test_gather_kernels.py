"""Compiled gathers (free share of candidate nodes, lying probed rows) equal numpy statements."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.policy.reputation_kernel import lying_rows_loop
from governance.policy.scorers.least_allocated import free_share_at
from governance.policy.scorers.reputation import reputation_at

_VALUES = [0.0, 1.0, 2.0, 3.0, 7.0, 0.5, 1e6, 1e-30, -1.0, np.inf, np.nan]


def _free_share(used: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """The numpy statement: mean of clip(1 - used / cap, 0, 1), 1 where cap is not > 0."""
    with np.errstate(all="ignore"):  # inf / inf: NaN, as the kernel gives (no warning there)
        share = np.divide(used, cap, out=np.ones(used.shape, dtype=np.float32), where=cap > 0)
    np.subtract(np.float32(1), share, out=share)
    np.clip(share, 0, 1, out=share)
    out = share[..., 0].astype(np.float64)
    for r in range(1, share.shape[-1]):
        out += share[..., r]
    out /= share.shape[-1]
    return out


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 60),
    resources=st.sampled_from([1, 2, 3, 4]),
    shape=st.sampled_from([(0,), (7,), (5, 6), (40, 1), (3, 2)]),
    wide=st.booleans(),
)
def test_free_share_at_equals_numpy_on_gathered_rows(
    seed: int, n: int, resources: int, shape: tuple[int, ...], wide: bool
) -> None:
    rng = np.random.default_rng(seed)
    used = rng.choice(_VALUES, (n, resources)).astype(np.float32)
    cap = rng.choice(_VALUES, (n, resources)).astype(np.float32)
    mixed = rng.random((n, resources)) < 0.5  # also arbitrary float32 values
    used[mixed] = rng.random(int(mixed.sum())).astype(np.float32) * 10
    nodes = rng.integers(0, n, shape).astype(np.int64 if wide else np.int32)
    got = free_share_at(used, cap, nodes)
    want = _free_share(used[nodes], cap[nodes])
    assert got.shape == want.shape
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, want)  # NaN where NaN, every other value bit-equal


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 300),
    probed=st.integers(0, 400),
    resources=st.sampled_from([1, 3]),
    tolerance=st.sampled_from([0.0, 0.05, 0.25, 1.0]),
)
def test_lying_rows_equal_the_numpy_scatter(
    seed: int, n: int, probed: int, resources: int, tolerance: float
) -> None:
    rng = np.random.default_rng(seed)
    reported = rng.choice(_VALUES, (n, resources)).astype(np.float32)
    rows = rng.integers(0, n, probed)  # repeats too: the last verdict of a row stands
    if rng.random() < 0.5:
        rows = np.unique(rows)
    observed = rng.choice(_VALUES, (probed if rows.size == probed else rows.size, resources))
    observed = observed.astype(np.float32)
    start = rng.random(n) < 0.3  # rows outside ``rows`` keep what they had
    want = start.copy()
    flags = np.take(reported, rows, axis=0) > observed * np.float32(1.0 + tolerance)
    lying = flags[:, 0].copy()
    for r in range(1, flags.shape[1]):
        lying |= flags[:, r]
    want[rows] = lying
    got = start.copy()
    lying_rows_loop(rows, reported, observed, np.float32(1.0 + tolerance), got)
    assert got.tolist() == want.tolist()


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 60),
    b=st.integers(0, 30),
    k=st.integers(1, 7),
    resources=st.sampled_from([1, 3]),
    scale=st.booleans(),
    fraction=st.sampled_from([0.25, 0.5, 1.0, 0.1]),
)
def test_fits_loop_equals_the_numpy_capacity_check(
    seed: int, n: int, b: int, k: int, resources: int, scale: bool, fraction: float
) -> None:
    from governance.policy.filters.capacity_fit import fits_loop

    rng = np.random.default_rng(seed)
    cap = rng.choice([0.0, 1.0, 4.0, 10.0, 16.0, 1e6, np.nan], (n, resources)).astype(np.float32)
    used = rng.choice([0.0, 1.0, 2.0, 3.0, 8.0, 16.0, np.nan], (n, resources)).astype(np.float32)
    demand = rng.choice([0.0, 1.0, 2.0, 4.0, 6.0, 1e6], (b, resources)).astype(np.float32)
    tier = rng.integers(0, 3, n).astype(np.int8)
    nodes = rng.integers(0, n, (b, k)).astype(np.int32)
    frac = np.float32(fraction)
    # The numpy statement: the gathered limit, newcomers scaled in place, then the (B, k, R) test.
    limit = np.take(cap, nodes, axis=0)
    if scale:
        np.multiply(limit, frac, out=limit, where=(tier[nodes] == 0)[..., None])
    want = np.all(used[nodes] + demand[:, None, :] <= limit, axis=-1)
    got = np.empty(nodes.shape, dtype=bool)
    fits_loop(used, cap, tier, scale, frac, demand, nodes, got)
    assert got.tolist() == want.tolist()
    column = np.empty((b, 1), dtype=bool)  # one candidate per row, as a (B, 1) view
    fits_loop(used, cap, tier, scale, frac, demand, nodes[:, :1], column)
    assert column.tolist() == want[:, :1].tolist()


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 40),
    services=st.integers(1, 20),
    evicted=st.integers(0, 60),
    flap=st.sampled_from([1.0, 100.0, 7200.0, 0.0]),
)
def test_eviction_scatters_equal_ufunc_at(
    seed: int, n: int, services: int, evicted: int, flap: float
) -> None:
    from governance.policy.eviction_kernels import count_flaps_loop, execute_loop

    rng = np.random.default_rng(seed)
    used = rng.choice([0.0, 1.0, 3.0, 1e6, 0.1], (n, 3)).astype(np.float32)
    held = rng.integers(0, 5, n).astype(np.int32)
    demand = rng.choice([0.0, 1.0, 2.0, 0.3], (services, 3)).astype(np.float32)
    service = rng.integers(0, services, 80).astype(np.int32)
    done = rng.integers(0, 80, evicted).astype(np.int32)  # repeats: the order of updates counts
    node = rng.integers(0, n, 80).astype(np.int32)
    evict_at = rng.choice([np.inf, 5.0, np.nan, -np.inf], 80)
    reason = rng.integers(-1, 5, 80).astype(np.int8)
    last_node = rng.integers(-1, n, 80).astype(np.int32)
    last_at = rng.choice([np.inf, 1.0, 2.0], 80)
    evictions = rng.integers(0, 3, 80).astype(np.int32)
    columns = [node, evict_at, reason, last_node, last_at, evictions, used, held]
    want = [c.copy() for c in columns]
    w_node, w_at, w_reason, w_last_node, w_last_at, w_count, w_used, w_held = want
    want_unscheduled = done[~np.isfinite(w_at[done])]
    from_node = w_node[done]
    np.subtract.at(w_used, from_node, demand[service[done]])
    np.subtract.at(w_held, from_node, 1)
    w_last_node[done], w_last_at[done] = from_node, 10.0
    w_count[done] += 1
    w_node[done], w_at[done], w_reason[done] = -1, np.inf, -1
    unscheduled = np.empty(done.size, dtype=done.dtype)
    found = execute_loop(done, *columns[:6], used, held, service, demand, 10.0, unscheduled)
    assert unscheduled[:found].tolist() == want_unscheduled.tolist()
    for got_column, want_column in zip(columns, want, strict=True):
        assert got_column.tobytes() == want_column.tobytes()

    now = 10_000.0
    window = rng.choice([0.0, now - flap, now - flap + 1, now, np.nan], services)
    count = rng.integers(0, 4, services).astype(np.int32)
    want_window, want_count = window.copy(), count.copy()
    svc = np.unique(service[done])
    expired = svc[now - want_window[svc] >= flap]
    want_window[expired], want_count[expired] = now, 0
    np.add.at(want_count, service[done], 1)
    count_flaps_loop(service, done, window, count, now, flap)
    assert window.tobytes() == want_window.tobytes()
    assert count.tolist() == want_count.tolist()


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 60),
    shape=st.sampled_from([(0,), (7,), (5, 6), (40, 1), (3, 2), (30,)]),
    wide=st.booleans(),
)
def test_reputation_at_equals_the_widened_gather(
    seed: int, n: int, shape: tuple[int, ...], wide: bool
) -> None:
    rng = np.random.default_rng(seed)
    reputation = rng.random(n).astype(np.float32)
    reputation[rng.random(n) < 0.1] = np.nan
    nodes = rng.integers(0, n, shape).astype(np.int64 if wide else np.int32)
    got = reputation_at(reputation, nodes)
    want = reputation[nodes].astype(float)  # the numpy statement
    assert got.shape == want.shape
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, want)
