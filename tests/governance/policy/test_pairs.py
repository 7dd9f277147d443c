"""`stable_argsort` equals numpy's stable argsort, on packable and too-wide keys alike."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.policy.pairs import stable_argsort


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(min_value=-5, max_value=2**62), max_size=300),
    st.integers(min_value=0, max_value=40),
)
def test_stable_argsort_matches_numpy(values: list[int], spread: int) -> None:
    keys = np.array(values, dtype=np.int64) % (spread + 1) if spread else np.array(values)
    keys = keys.astype(np.int64)
    assert np.array_equal(stable_argsort(keys), np.argsort(keys, kind="stable"))


def test_stable_argsort_wide_keys_fall_back() -> None:
    keys = np.array([2**61, 3, 2**61, -1, 3], dtype=np.int64)
    assert stable_argsort(keys).tolist() == [3, 1, 4, 0, 2]
    assert stable_argsort(np.array([7], dtype=np.int32)).tolist() == [0]
