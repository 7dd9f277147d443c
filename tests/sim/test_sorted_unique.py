"""The vector engine's sorted distinct rows (a radix sort) equal numpy's `unique`."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engines.vector import _sorted_unique


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 3000),
    bits=st.sampled_from([0, 1, 3, 11, 12, 24, 25, 40, 62]),
)
def test_sorted_unique_equals_numpy(seed: int, n: int, bits: int) -> None:
    values = np.random.default_rng(seed).integers(0, 2**bits, n, dtype=np.int64)
    kept = values.copy()
    assert _sorted_unique(values).tolist() == np.unique(values).tolist()
    assert np.array_equal(values, kept)  # the input is left alone


def test_negative_values_are_sorted_too() -> None:
    values = np.array([3, -1, 3, 0, -7], dtype=np.int64)
    assert _sorted_unique(values).tolist() == [-7, -1, 0, 3]
