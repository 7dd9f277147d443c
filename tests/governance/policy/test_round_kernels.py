"""The compiled passes of a sampled round equal the numpy statements they replace."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.policy.round_kernels import add_usage_jit, picks_fit_jit
from governance.policy.types import Tier


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 40),
    picks=st.integers(0, 60),
    resources=st.sampled_from([1, 3]),
    tiers_on=st.booleans(),
    fraction=st.sampled_from([0.25, 0.5, 1.0, 0.1]),
    quota=st.integers(0, 4),
)
def test_picks_fit_equals_the_numpy_check(
    seed: int, n: int, picks: int, resources: int, tiers_on: bool, fraction: float, quota: int
) -> None:
    rng = np.random.default_rng(seed)
    cap = rng.choice([0.0, 1.0, 4.0, 10.0, 16.0, 1e6, np.nan], (n, resources)).astype(np.float32)
    used = rng.choice([0.0, 1.0, 2.0, 3.0, 8.0, 16.0, np.nan], (n, resources)).astype(np.float32)
    within = rng.choice([0.0, 1.0, 2.0, 4.0, 6.0, 1e6], (picks, resources)).astype(np.float32)
    odd = rng.random((picks, resources)) < 0.3  # not only whole numbers
    within[odd] += rng.random(int(odd.sum())).astype(np.float32)
    tier = rng.integers(0, 3, n).astype(np.int8)
    held = rng.integers(0, 5, n).astype(np.int32)
    nodes = np.sort(rng.integers(0, n, picks)).astype(np.int32)
    rank = rng.integers(0, 4, picks).astype(np.int64)
    frac = np.float32(fraction)
    # The numpy statements: the gathered limit (newcomers scaled in float32), a float64 test on
    # every resource, then the newcomer quota.
    limit = np.take(cap, nodes, axis=0)
    newcomer = tier[nodes] == Tier.NEWCOMER
    if tiers_on:
        np.multiply(limit, frac, out=limit, where=newcomer[..., None])
    want = np.all(used[nodes].astype(float) + within <= limit.astype(float), axis=1)
    if tiers_on:
        want &= ~newcomer | (held[nodes] + rank < quota)
    got = np.empty(picks, dtype=bool)
    picks_fit_jit(used, cap, tier, held, tiers_on, frac, quota, within, nodes, rank, got)
    assert got.tolist() == want.tolist()


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 60),
    count=st.integers(0, 60),
    resources=st.sampled_from([1, 3]),
)
def test_add_usage_equals_fancy_index_adds(seed: int, n: int, count: int, resources: int) -> None:
    rng = np.random.default_rng(seed)
    used = (rng.random((n, resources)) * 100).astype(np.float32)
    held = rng.integers(0, 50, n).astype(np.int32)
    nodes = np.sort(rng.choice(n, min(count, n), replace=False)).astype(np.int32)
    added = (rng.random((nodes.shape[0], resources)) * 10).astype(np.float32)
    runs = rng.integers(1, 5, nodes.shape[0]).astype(np.int64)
    want_used, want_held = used.copy(), held.copy()
    want_used[nodes] += added  # the numpy statements
    want_held[nodes] += runs.astype(np.int32)
    add_usage_jit(used, held, nodes, added, runs)
    assert used.tobytes() == want_used.tobytes()
    assert held.tolist() == want_held.tolist()
