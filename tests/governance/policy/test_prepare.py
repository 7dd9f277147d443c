"""The compiled locality build equals the numpy statements it replaces (searchsorted, sort)."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.policy.pairs import service_starts
from governance.policy.prepare import _locality, concat_ranges, dependency_runs, live_domains_jit


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_domains=st.integers(1, 9),
    n_services=st.integers(1, 30),
    keys=st.integers(0, 80),
)
def test_service_starts_equal_searchsorted(
    seed: int, n_domains: int, n_services: int, keys: int
) -> None:
    rng = np.random.default_rng(seed)
    table = np.unique(rng.integers(0, n_services * n_domains, keys).astype(np.int64))
    got = service_starts(table, n_domains, n_services)
    want = np.searchsorted(table, np.arange(n_services + 1, dtype=np.int64) * n_domains)
    assert got.tolist() == want.tolist()


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_domains=st.integers(1, 9),
    n_services=st.integers(1, 25),
    present=st.integers(0, 80),
    max_deps=st.integers(0, 5),
    pending_share=st.floats(0.0, 1.0),
)
def test_locality_counts_dependencies_per_domain(
    seed: int,
    n_domains: int,
    n_services: int,
    present: int,
    max_deps: int,
    pending_share: float,
) -> None:
    rng = np.random.default_rng(seed)
    lens = rng.integers(0, max_deps + 1, n_services)
    indptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    indices = rng.integers(0, n_services, int(lens.sum())).astype(np.int32)  # repeats allowed
    presence = np.unique(rng.integers(0, n_services * n_domains, present).astype(np.int64))
    pending = np.flatnonzero(rng.random(n_services) < pending_share).astype(np.int64)
    lens = indptr[pending + 1] - indptr[pending]
    dep = indices[concat_ranges(indptr[pending], lens)]
    got_lens, got_dep = dependency_runs(indptr, indices, pending)
    assert (got_lens.dtype, got_dep.dtype) == (lens.dtype, dep.dtype)
    assert got_lens.tolist() == lens.tolist()
    assert got_dep.tolist() == dep.tolist()
    got = _locality(presence, pending, lens, dep, n_services, n_domains)
    # The numpy reference: for every (pending service, dependency entry), each domain where the
    # dependency has a key counts once for (service, domain).
    tally: Counter[int] = Counter()
    for s in pending.tolist():
        for d in indices[indptr[s] : indptr[s + 1]].tolist():
            lo, hi = np.searchsorted(presence, [d * n_domains, (d + 1) * n_domains])
            for key in presence[lo:hi].tolist():
                tally[s * n_domains + key % n_domains] += 1
    want = sorted(tally.items())
    assert got.keys.dtype == np.int64
    assert got._counts.dtype == np.int32
    assert list(zip(got.keys.tolist(), got._counts.tolist(), strict=True)) == want
    assert got.empty == (not want)


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 60), n_domains=st.integers(1, 9),
       delta=st.integers(-1, 1), head=st.integers(0, 70))  # fmt: skip
def test_live_domains_equal_the_numpy_count(
    seed: int, n: int, n_domains: int, delta: int, head: int
) -> None:
    rng = np.random.default_rng(seed)
    healthy, draining = rng.random(n) < 0.7, rng.random(n) < 0.2
    heartbeat = rng.choice([0.0, 5.0, 10.0, np.nan], n)
    domain = rng.integers(0, n_domains, n).astype(np.int32)
    head = min(head, n)
    # The numpy reference: the head's count if it reaches ``need``, else the whole table's.
    avail = healthy & ~draining & (heartbeat >= 5.0)
    live_head = np.unique(domain[:head][avail[:head]]).size
    need = max(0, live_head + delta)  # just under, at and just over the head's count
    want = live_head if live_head >= need else np.unique(domain[avail]).size
    got = live_domains_jit(healthy, draining, heartbeat, 5.0, domain, n_domains, need, head)
    assert got == want
