"""The radix sorts equal numpy's stable argsort and sort, for any integer keys."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.policy.pairs import sorted_counts
from governance.policy.sorting import (
    grouped_counts_jit,
    radix_argsort_jit,
    radix_sort_jit,
    sort_keys,
    stable_argsort,
)


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


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    groups=st.integers(0, 40),
    group=st.integers(1, 40),
    longest=st.sampled_from([3, 40, 80]),
    shuffled=st.booleans(),
)
def test_grouped_counts_equal_unique(
    seed: int, groups: int, group: int, longest: int, shuffled: bool
) -> None:
    """Keys grouped by ``key // group`` (short and long runs) are counted as np.unique does."""
    rng = np.random.default_rng(seed)
    ids = np.sort(rng.choice(10 * groups + 1, groups, replace=False))
    runs = [g * group + rng.integers(0, group, rng.integers(1, longest + 1)) for g in ids]
    keys = np.concatenate(runs).astype(np.int64) if runs else np.empty(0, dtype=np.int64)
    if shuffled and keys.shape[0] > 1:
        keys = rng.permutation(keys)  # groups may fall now: the whole array is sorted instead
    want_keys, want_counts = np.unique(keys, return_counts=True)
    got_keys, got_counts = sorted_counts(keys, group)
    assert got_keys.tolist() == want_keys.tolist()
    assert got_counts.tolist() == want_counts.tolist()
    out_keys = np.empty(keys.shape[0], dtype=np.int64)
    out_counts = np.empty(keys.shape[0], dtype=np.int32)
    found = grouped_counts_jit(keys, group, out_keys, out_counts)
    if not shuffled:  # grouped input: the kernel itself answers
        assert found == want_keys.shape[0]
        assert out_keys[:found].tolist() == want_keys.tolist()
    elif found >= 0:  # a shuffle that kept the groups in order is counted all the same
        assert out_counts[:found].tolist() == want_counts.tolist()


def test_grouped_counts_refuse_falling_groups_and_negative_keys() -> None:
    out_keys = np.empty(4, dtype=np.int64)
    out_counts = np.empty(4, dtype=np.int32)
    assert grouped_counts_jit(np.array([9, 10, 2, 3]), 4, out_keys, out_counts) == -1
    assert grouped_counts_jit(np.array([-3, 1]), 4, out_keys, out_counts) == -1
    assert grouped_counts_jit(np.array([5, 4, 4, 9]), 4, out_keys, out_counts) == 3
    assert out_keys[:3].tolist() == [4, 5, 9]
    assert out_counts[:3].tolist() == [2, 1, 1]
