"""The merge passes equal the numpy statements they replace (unique, searchsorted)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.policy.merges import distinct, key_ranges


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(0, 40), top=st.integers(1, 12),
       presorted=st.booleans())  # fmt: skip
def test_distinct_equals_unique(seed: int, size: int, top: int, presorted: bool) -> None:
    rng = np.random.default_rng(seed)
    values = rng.integers(0, top, size).astype(np.int32)
    if presorted:
        values.sort()
    got = distinct(values)
    assert got.dtype == np.int64
    assert got.tolist() == np.unique(values).tolist()


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_domains=st.integers(1, 9), n_services=st.integers(1, 30),
       keys=st.integers(0, 80), entries=st.integers(0, 40))  # fmt: skip
def test_key_ranges_equal_searchsorted(
    seed: int, n_domains: int, n_services: int, keys: int, entries: int
) -> None:
    rng = np.random.default_rng(seed)
    table = np.unique(rng.integers(0, n_services * n_domains, keys).astype(np.int64))
    services = rng.integers(0, n_services, entries).astype(np.int32)  # repeats, any order
    lo, hi = key_ranges(table, n_domains, services)
    base = services.astype(np.int64) * n_domains
    assert lo.tolist() == np.searchsorted(table, base).tolist()
    assert hi.tolist() == np.searchsorted(table, base + n_domains).tolist()
