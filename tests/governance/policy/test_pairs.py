"""`PairCounts` batched adds match a Counter (the sorts it uses: `test_sorting`)."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.policy.pairs import PairCounts, add_keys_jit


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=60), max_size=40),
    st.lists(
        st.tuples(st.booleans(), st.lists(st.integers(min_value=0, max_value=60), max_size=40)),
        max_size=8,
    ),
)
def test_pair_counts_adds_match_counter(
    initial: list[int], steps: list[tuple[bool, list[int]]]
) -> None:
    """Merges through the reused spare buffers, interleaved with scalar adds, lose nothing."""
    pairs = PairCounts(np.array(initial, dtype=np.int64), n_domains=7)
    expected = Counter(initial)
    for scalar, keys in steps:
        if scalar:
            for k in keys:
                pairs.add_one(k)
        else:
            pairs.add(np.array(keys, dtype=np.int64))
        expected.update(keys)
        assert pairs.keys.tolist() == sorted(expected)
        assert pairs.lookup(np.arange(61, dtype=np.int64)).tolist() == [
            expected[k] for k in range(61)
        ]
        for k in keys[:3]:
            assert pairs.get(k) == expected[k]
        services = {k // 7 for k, c in expected.items() if c}
        ids = np.arange(12)  # beyond the largest service id (8) too
        assert pairs.present(ids).tolist() == [s in services for s in range(12)]


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_domains=st.integers(1, 9),
    initial=st.integers(0, 60),
    added=st.integers(0, 30),
    rows=st.integers(0, 20),
    k=st.integers(1, 6),
    scalar=st.booleans(),
    indexed=st.sampled_from(["no", "before", "after", "narrow"]),
    ordered=st.booleans(),
)
def test_count_pairs_equals_the_lookup_of_gathered_keys(
    seed: int, n_domains: int, initial: int, added: int, rows: int, k: int, scalar: bool,
    indexed: str, ordered: bool,
) -> None:  # fmt: skip
    rng = np.random.default_rng(seed)
    n_nodes, n_services = 30, 12
    domain = rng.integers(0, n_domains, n_nodes).astype(np.int32)
    pairs = PairCounts(
        rng.integers(0, n_services, initial) * n_domains + rng.integers(0, n_domains, initial),
        n_domains,
    )
    later = rng.integers(0, n_services, added) * n_domains + rng.integers(0, n_domains, added)
    if indexed == "before":  # an index the adds below must drop
        pairs.index_services(n_services + 2)
    if scalar:  # the dict form, synced back to arrays by the lookup
        for key in later.tolist():
            pairs.add_one(key)
    else:
        pairs.add(later)
    service = rng.integers(0, n_services + 2, rows).astype(np.int32)  # some never counted
    if ordered:  # rows in service order (a table grouped by service): the galloping search
        service.sort()
    nodes = rng.integers(0, n_nodes, (rows, k)).astype(np.int32)
    if indexed in ("after", "narrow"):  # "narrow": some rows' services are beyond the index
        pairs.index_services(n_services + 2 if indexed == "after" else n_services - 3)
    # The numpy statement it replaces: keys of every (row, candidate), looked up in the table.
    want = pairs.lookup(pairs.key(service[:, None], domain[nodes]))
    got = pairs.count_pairs(service, domain, nodes)
    assert got.dtype == np.int32
    assert got.tolist() == want.tolist()


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 40), m=st.integers(0, 30),
       n_flags=st.integers(0, 12), presorted=st.booleans())  # fmt: skip
def test_add_keys_equals_unique_counts(
    seed: int, n: int, m: int, n_flags: int, presorted: bool
) -> None:
    rng = np.random.default_rng(seed)
    n_domains = 5
    old = np.unique(rng.integers(0, 60, n)).astype(np.int64)
    old_counts = rng.integers(1, 9, old.shape[0]).astype(np.int32)
    new = rng.integers(0, 60, m).astype(np.int64)  # repeats, any order, some already held
    flags = rng.random(n_flags) < 0.3
    # The numpy reference: unique keys of old (with multiplicity) and new, counted.
    every = np.concatenate([np.repeat(old, old_counts), new])
    want_keys, want_counts = np.unique(every, return_counts=True)
    fresh = np.setdiff1d(new, old)
    want_flags = flags.copy()
    services = fresh // n_domains
    want_flags[services[services < n_flags]] = True
    keys = np.full(old.shape[0] + m, -1, dtype=np.int64)
    counts = np.full(old.shape[0] + m, -1, dtype=np.int32)
    given = np.sort(new) if presorted else new
    found, top = add_keys_jit(old, old_counts, given, presorted, n_domains, flags, keys, counts)
    assert keys[:found].tolist() == want_keys.tolist()
    assert counts[:found].tolist() == want_counts.tolist()
    assert flags.tolist() == want_flags.tolist()
    assert top == (int(services.max()) + 1 if services.size else 0)
