"""The scorers' compiled passes equal the numpy statements they replace, bit for bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.policy.scorers.locality import ratios_jit
from governance.policy.scorers.spread import spread_factors_jit


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(0, 30), k=st.integers(1, 7))
def test_spread_factors_equal_numpy(seed: int, rows: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    desired = rng.integers(0, 6, 9).astype(np.int32)  # 0: counted as 1
    service = rng.integers(0, 9, rows).astype(np.int32)
    present = rng.random(rows) < 0.7
    counts = rng.integers(0, 8, (rows, k)).astype(np.int32)
    got = np.empty((rows, k), dtype=np.float64)
    spread_factors_jit(counts, present, service, desired, got)
    want = np.ones((rows, k), dtype=float)  # the plugin's numpy statements
    has = np.flatnonzero(present)
    per = np.maximum(desired[service[has]], 1).astype(float)[:, None]
    want[has] = np.clip(1.0 - counts[has] / per, 0.0, 1.0)
    assert got.tobytes() == want.tobytes()


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(0, 30), k=st.integers(1, 7))
def test_locality_ratios_equal_numpy(seed: int, rows: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    deps = rng.integers(0, 7, rows).astype(np.int64)
    found = np.minimum(rng.integers(0, 7, (rows, k)), deps[:, None]).astype(np.int32)
    got = np.empty((rows, k), dtype=np.float64)
    ratios_jit(found, deps, got)
    want = np.zeros((rows, k), dtype=float)
    has = np.flatnonzero(deps > 0)
    want[has] = found[has] / deps[has].astype(float)[:, None]
    assert got.tobytes() == want.tobytes()
