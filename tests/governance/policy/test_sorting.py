"""The radix sorts equal numpy's stable argsort and sort, for any integer keys."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.policy.sorting import radix_argsort_jit, radix_sort_jit, sort_keys, stable_argsort


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(0, 3000),
    top=st.sampled_from([0, 1, 7, 2047, 2048, 5000, 10_500_000, 2**40, 2**62]),
    dtype=st.sampled_from([np.int32, np.int64]),
)
def test_radix_sorts_equal_numpy(seed: int, size: int, top: int, dtype: type) -> None:
    top = min(top, int(np.iinfo(dtype).max))
    rng = np.random.default_rng(seed)
    values = rng.integers(0, top + 1, size, dtype=np.int64)
    if size and rng.random() < 0.5:  # many repeats: stability matters
        values = values[rng.integers(0, max(1, size // 8), size)]
    values = values.astype(dtype)
    kept = values.copy()
    want_order = np.argsort(values, kind="stable")
    want_sorted = np.sort(values).astype(np.int64)
    assert np.array_equal(stable_argsort(values), want_order)
    assert np.array_equal(sort_keys(values), want_sorted)
    if size:  # the kernels themselves, with the bound the callers pass
        assert np.array_equal(radix_argsort_jit(values, int(values.max())), want_order)
        assert np.array_equal(radix_sort_jit(values, int(values.max())), want_sorted)
    assert np.array_equal(values, kept)  # the input is left alone


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=-(2**40), max_value=2**62), max_size=300))
def test_negative_keys_fall_back_to_numpy(values: list[int]) -> None:
    keys = np.array(values, dtype=np.int64)
    assert np.array_equal(stable_argsort(keys), np.argsort(keys, kind="stable"))
    assert np.array_equal(sort_keys(keys), np.sort(keys))
