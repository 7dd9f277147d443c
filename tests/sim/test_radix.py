"""The radix sort's distinct values equal numpy's `unique`."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.radix import radix_unique_jit, sorted_unique


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 3000),
    bits=st.sampled_from([0, 1, 3, 12, 13, 24, 25, 40, 62, 63]),
)
def test_radix_unique_equals_numpy(seed: int, n: int, bits: int) -> None:
    values = np.random.default_rng(seed).integers(0, 2**bits, n, dtype=np.int64)
    out = np.full(n, -1, dtype=np.int64)
    count = radix_unique_jit(values.copy(), np.empty(n, dtype=np.int64), out)
    assert out[:count].tolist() == np.unique(values).tolist()


def test_negative_values_are_sorted_by_numpy() -> None:
    values = np.array([3, -1, 3, 0, -7], dtype=np.int64)
    assert sorted_unique(values).tolist() == [-7, -1, 0, 3]
