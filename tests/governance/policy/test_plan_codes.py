"""The plan's reason codes from one compiled pass equal the numpy statements they replace."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.policy.placement import _LOST, _NO_CANDIDATE, _PLACED, plan_codes_jit


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), count=st.integers(0, 40), n_filters=st.integers(0, 7))
def test_plan_codes_equal_numpy(seed: int, count: int, n_filters: int) -> None:
    rng = np.random.default_rng(seed)
    node = rng.integers(-1, 3, count).astype(np.int32)
    failing_filter = rng.integers(-1, n_filters, count).astype(np.int8)
    filter_codes = np.array([*rng.permutation(9)[:n_filters], -1], dtype=np.int8)
    reason = np.empty(count, dtype=np.int8)
    failing = np.empty(count, dtype=np.int8)
    plan_codes_jit(node, failing_filter, filter_codes, _NO_CANDIDATE, reason, failing)
    placed = node >= 0  # the numpy statements
    ff = failing_filter
    want_reason = np.where(placed, _PLACED, np.where(ff < 0, _LOST, _NO_CANDIDATE))
    want_failing = np.where(placed | (ff < 0), -1, filter_codes[ff])
    assert reason.tolist() == want_reason.astype(np.int8).tolist()
    assert failing.tolist() == want_failing.astype(np.int8).tolist()
