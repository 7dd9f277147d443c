"""The compiled passes of a sampled round equal the numpy statements they replace."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.policy.round_kernels import (
    add_weighted_jit,
    best_of_rows_jit,
    commit_usage_jit,
    drop_repeats_jit,
    resolve_jit,
    stable_order_jit,
    weighted_scores_jit,
)
from governance.policy.types import Tier


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 30),
    count=st.integers(1, 60),
    resources=st.sampled_from([1, 3]),
)
def test_commit_usage_equals_the_fancy_index_adds(
    seed: int, n: int, count: int, resources: int
) -> None:
    rng = np.random.default_rng(seed)
    used = (rng.random((n, resources)) * 100).astype(np.float32)
    held = rng.integers(0, 50, n).astype(np.int32)
    nodes = np.sort(rng.integers(0, n, count)).astype(np.int32)
    first = np.ones(count, dtype=bool)
    first[1:] = nodes[1:] != nodes[:-1]
    starts = np.flatnonzero(first)
    added = (rng.random((starts.shape[0], resources)) * 10).astype(np.float32)
    # The numpy statements: each run's node gets its added usage and its length.
    want_used, want_held = used.copy(), held.copy()
    want_used[nodes[starts]] += added
    want_held[nodes[starts]] += np.diff(np.append(starts, count)).astype(np.int32)
    uniq = np.empty(starts.shape[0], dtype=np.int32)
    service = rng.integers(0, 9, count).astype(np.int32)
    domain = rng.integers(0, 4, n).astype(np.int32)
    keys = np.empty(count, dtype=np.int64)
    commit_usage_jit(nodes, added, used, held, uniq, service, domain, 4, keys)
    assert keys.tolist() == (service.astype(np.int64) * 4 + domain[nodes]).tolist()
    assert uniq.tolist() == nodes[starts].tolist()
    assert used.tobytes() == want_used.tobytes()
    assert held.tolist() == want_held.tolist()


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), count=st.integers(0, 30), scorers=st.integers(1, 5))
def test_weighted_scores_equal_the_numpy_sum(seed: int, count: int, scorers: int) -> None:
    rng = np.random.default_rng(seed)
    factors = rng.random((count, scorers)).astype(np.float32)
    weights = rng.choice([0.0, 0.25, 0.5, 1.0, 1.7], scorers)
    slots = rng.permutation(count + 3)[:count].astype(np.int64)
    want = np.zeros(count, dtype=np.float64)  # the numpy statements, in scorer order
    for j, w in enumerate(weights.tolist()):
        if w:
            want += w * factors[:, j].astype(np.float64)
    got = np.full(count + 3, np.nan)
    weighted_scores_jit(factors, weights, slots, got)
    assert got[slots].tobytes() == want.tobytes()


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 12), wide=st.booleans(),
       values=st.integers(0, 50))  # fmt: skip
def test_stable_order_equals_stable_argsort(seed: int, n: int, wide: bool, values: int) -> None:
    rng = np.random.default_rng(seed)
    top = 2**61 if wide else n  # wide keys leave no room for the positions: the merge sort
    keys = rng.integers(0, top, values).astype(np.int64)
    keys[rng.random(values) < 0.3] = 0  # ties
    assert stable_order_jit(keys).tolist() == np.argsort(keys, kind="stable").tolist()


@settings(max_examples=120, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 12),
    picks=st.integers(0, 50),
    resources=st.sampled_from([1, 3]),
    tiers_on=st.booleans(),
    quota=st.integers(0, 4),
)
def test_resolve_equals_the_numpy_statements(
    seed: int, n: int, picks: int, resources: int, tiers_on: bool, quota: int
) -> None:
    rng = np.random.default_rng(seed)
    cap = rng.choice([0.0, 4.0, 10.0, 16.0, np.nan], (n, resources)).astype(np.float32)
    used = rng.choice([0.0, 1.0, 2.0, 8.0, np.nan], (n, resources)).astype(np.float32)
    demand = rng.choice([0.0, 1.0, 2.0, 3.5, 6.0, 1e6], (picks, resources)).astype(np.float32)
    odd = rng.random((picks, resources)) < 0.3  # not only whole numbers
    demand[odd] += rng.random(int(odd.sum())).astype(np.float32)
    tier = rng.integers(0, 3, n).astype(np.int8)
    held = rng.integers(0, 5, n).astype(np.int32)
    domain = rng.integers(0, 3, n).astype(np.int32)
    want_replicas = rng.integers(1, 5, 5).astype(np.int32)
    # at or just under some service's count: the boundary of `<=` comes up often
    live = int(rng.choice(want_replicas)) - int(rng.integers(0, 2))
    spread_active = want_replicas <= live
    service = rng.integers(0, 5, picks).astype(np.int32)
    chosen = rng.integers(0, n, picks).astype(np.int32)
    frac = np.float32(rng.choice([0.25, 0.5, 1.0, 0.1]))
    # The numpy statements: running demand per node in pick order, the fit test, then one
    # surviving pick per (spreading service, domain).
    order = np.argsort(chosen, kind="stable")
    nodes = chosen[order]
    within = demand[order]
    rank = np.zeros(picks, dtype=np.int64)
    for t in range(1, picks):
        if nodes[t] == nodes[t - 1]:
            within[t] += within[t - 1]
            rank[t] = rank[t - 1] + 1
    limit = np.take(cap, nodes, axis=0)  # newcomers' limit scaled in float32
    newcomer = tier[nodes] == Tier.NEWCOMER
    if tiers_on:
        np.multiply(limit, frac, out=limit, where=newcomer[..., None])
    fits = np.all(used[nodes].astype(float) + within <= limit.astype(float), axis=1)
    if tiers_on:
        fits &= ~newcomer | (held[nodes] + rank < quota)
    want = np.zeros(picks, dtype=bool)
    want[order] = fits
    idx = np.flatnonzero(spread_active[service] & want)
    keys = service[idx].astype(np.int64) * 3 + domain[chosen[idx]]
    by_key = np.argsort(keys, kind="stable")
    dup = np.zeros(idx.shape[0], dtype=bool)
    dup[1:] = keys[by_key][1:] == keys[by_key][:-1]
    want[idx[by_key[dup]]] = False
    got = np.empty(picks, dtype=bool)
    rows, keys = np.empty(picks, dtype=np.int64), np.empty(picks, dtype=np.int64)
    got_order = stable_order_jit(chosen)
    assert got_order.tolist() == order.tolist()
    args = (used, cap, tier, held, tiers_on, frac, quota, service, want_replicas, live, domain, 3)
    spreading = resolve_jit(chosen, got_order, demand, *args, got, rows, keys)
    drop_repeats_jit(keys[:spreading], stable_order_jit(keys[:spreading]), rows, got)
    assert got.tolist() == want.tolist()


@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 25), k=st.integers(1, 7))
def test_best_of_rows_equals_argmax(seed: int, rows: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    total = rng.choice([0.0, 0.5, 1.0, 2.0, -np.inf, np.inf, np.nan], (rows, k))
    some = np.flatnonzero(rng.random(rows) < 0.6)
    pick = np.full(rows, -1, dtype=np.int64)
    finite = np.empty(some.shape[0], dtype=bool)
    best_of_rows_jit(total, some, pick, finite)
    want = np.argmax(total, axis=1)  # the numpy statements
    assert pick[some].tolist() == want[some].tolist()
    assert (pick[np.setdiff1d(np.arange(rows), some)] == -1).all()
    assert finite.tolist() == np.isfinite(total[some, want[some]]).tolist()


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(0, 20), k=st.integers(1, 7))
def test_add_weighted_equals_numpy(seed: int, rows: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    total = rng.choice([0.0, 0.3, 1.7, -np.inf, np.nan], (rows, k)) + rng.random((rows, k))
    factor = rng.random((rows, k))
    weight = float(rng.choice([0.25, 0.5, 1.0, 1.3]))
    want = total.copy()
    want += weight * factor  # the numpy statement
    add_weighted_jit(total, weight, factor)
    assert total.tobytes() == want.tobytes()
