"""The compiled node tests and flag bits equal the numpy statements kept here as references."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.policy import PolicyParams, Snapshot
from governance.policy.evictors.kernels import flag_bits
from governance.policy.evictors.node_flags import NodeTest, flag_nodes
from governance.policy.synthetic import DAY_S, synthetic_network

NOW = 60 * DAY_S


def _dead(snap: Snapshot, params: PolicyParams, now_s: float) -> np.ndarray:
    nodes = snap.nodes
    out: np.ndarray = (nodes.last_heartbeat_s < now_s - params.eviction.heartbeat_ttl_s) | ~(
        nodes.healthy
    )
    return out


def _overloaded(snap: Snapshot, params: PolicyParams, now_s: float) -> np.ndarray:
    nodes = snap.nodes
    frac = np.float32(params.eviction.overload_fraction)
    limit = nodes.capacity if frac == 1 else nodes.capacity * frac
    out: np.ndarray = (nodes.used > limit).any(axis=1)
    return out


def _underused(snap: Snapshot, params: PolicyParams, now_s: float) -> np.ndarray:
    nodes = snap.nodes
    frac = np.float32(params.eviction.underused_fraction)
    low: np.ndarray = nodes.replicas_held > 0
    for r in range(nodes.capacity.shape[1]):
        low &= nodes.used[:, r] < nodes.capacity[:, r] * frac
    return low


def _below_floor(snap: Snapshot, params: PolicyParams, now_s: float) -> np.ndarray:
    nodes = snap.nodes
    low: np.ndarray = nodes.reputation < np.float32(params.eviction.reputation_floor)
    rows = np.flatnonzero(low)
    tenure_s = now_s - nodes.joined_at_s[rows]
    factor = np.minimum(tenure_s / params.reputation.tenure_full_s, 1.0)
    bar = params.eviction.reputation_floor * factor
    keep = (tenure_s < params.tiers.established_tenure_s) | (nodes.reputation[rows] >= bar)
    low[rows[keep]] = False
    return low


REFERENCE = {
    NodeTest.DEAD: _dead,
    NodeTest.OVERLOADED: _overloaded,
    NodeTest.UNDERUSED: _underused,
    NodeTest.REPUTATION_FLOOR: _below_floor,
}


def _network(seed: int, n: int, resources: int) -> Snapshot:
    """Node columns with ties, NaN, zero capacities and boundary values for every test."""
    snap = synthetic_network(max(n, 1), 4, np.random.default_rng(seed), now_s=NOW)
    rng = np.random.default_rng(seed)
    nodes = snap.nodes
    take = np.arange(n) % nodes.size
    cap = rng.choice([0.0, 1.0, 3.0, 10.0, 1e6, np.nan], (n, resources)).astype(np.float32)
    used = cap * rng.choice([0.0, 0.1, 0.5, 0.9, 1.0, 1.5, np.nan], (n, resources)).astype(
        np.float32
    )
    used[rng.random((n, resources)) < 0.2] = 7.0
    ttl = PolicyParams().eviction.heartbeat_ttl_s
    beat = NOW - ttl + rng.choice([-1.0, 0.0, 1.0, -1e-9, 1e-9, np.nan, -5e3], n)
    rep = rng.choice([0.0, 0.01, 0.05, 0.1, 0.2, 0.9, np.nan], n).astype(np.float32)
    joined = NOW - rng.choice([0.0, 100.0, 3600.0, 3601.0, 7200.0, 14400.0, 1e6, np.nan], n)
    nodes = dataclasses.replace(
        nodes,
        **{f.name: getattr(nodes, f.name)[take] for f in dataclasses.fields(nodes)},  # type: ignore[arg-type]
    )
    nodes = dataclasses.replace(
        nodes,
        capacity=cap,
        used=used,
        replicas_held=rng.integers(0, 3, n).astype(np.int32),
        healthy=rng.random(n) < 0.8,
        last_heartbeat_s=beat,
        reputation=rep,
        joined_at_s=joined,
    )
    return dataclasses.replace(snap, nodes=nodes)


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 300),
    resources=st.sampled_from([3, 3, 1, 2, 4]),
    tests=st.lists(st.sampled_from([*NodeTest, None]), min_size=0, max_size=8),
    overload=st.sampled_from([1.0, 0.5, 0.9, 1.2]),
    underused=st.sampled_from([0.0, 0.2, 0.5, 1.0]),
    floor=st.sampled_from([0.0, 0.05, 0.1, 0.3]),
)
def test_node_tests_equal_their_numpy_statements(
    seed: int,
    n: int,
    resources: int,
    tests: list[NodeTest | None],
    overload: float,
    underused: float,
    floor: float,
) -> None:
    snap = _network(seed, n, resources)
    base = PolicyParams()
    params = dataclasses.replace(
        base,
        eviction=dataclasses.replace(
            base.eviction,
            overload_fraction=overload,
            underused_fraction=underused,
            reputation_floor=floor,
        ),
    )
    flags = flag_nodes(snap, params, NOW, tests)
    want = np.zeros(n, dtype=np.uint8)
    for bit, test in enumerate(tests):
        if test is not None:
            want |= REFERENCE[test](snap, params, NOW).astype(np.uint8) << np.uint8(bit)
    assert flags.code.tolist() == want.tolist()
    assert flags.bits.tolist() == _reference_bits(want).tolist()
    assert flags.any == bool(want.any())


def _reference_bits(code: np.ndarray) -> np.ndarray:
    """Bit j of word w set where ``code[64 * w + j]`` is not 0."""
    bits = np.zeros((code.shape[0] + 63) >> 6, dtype=np.uint64)
    for i in np.flatnonzero(code).tolist():
        bits[i >> 6] |= np.uint64(1) << np.uint64(i & 63)
    return bits


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 1000), share=st.floats(0.0, 1.0))
def test_flag_bits_set_one_bit_per_flagged_node(seed: int, n: int, share: float) -> None:
    rng = np.random.default_rng(seed)
    code = np.where(rng.random(n) < share, rng.integers(1, 256, n), 0).astype(np.uint8)
    bits = flag_bits(code)
    assert bits.dtype == np.uint64
    assert bits.tolist() == _reference_bits(code).tolist()


class _OwnMask:
    """A node plugin without a compiled test: the planner ORs its ``nodes`` mask in."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.name = "own_mask"

    def nodes(self, snapshot: Snapshot, params: PolicyParams, now_s: float) -> np.ndarray | None:
        return self.inner.nodes(snapshot, params, now_s)  # type: ignore[attr-defined,no-any-return]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), order=st.permutations(range(5)))
def test_fused_planner_rows_equal_one_mask_per_plugin(seed: int, order: list[int]) -> None:
    from governance.policy import place, registry
    from governance.policy.eviction import _fused_rows
    from governance.policy.evictors.common import replicas_on_each

    snap = synthetic_network(200, 80, np.random.default_rng(seed), now_s=NOW, domains=4)
    _, snap = place(snap, PolicyParams(), NOW, np.random.default_rng(seed))
    rng = np.random.default_rng(seed)
    n = snap.nodes.size
    nodes = dataclasses.replace(
        snap.nodes,
        last_heartbeat_s=np.where(rng.random(n) < 0.2, NOW - 10_000.0, NOW),
        reputation=np.where(rng.random(n) < 0.2, 0.01, 0.9).astype(np.float32),
        used=snap.nodes.used * np.where(rng.random(n) < 0.2, 3.0, 1.0)[:, None].astype(np.float32),
    )
    snap = dataclasses.replace(snap, nodes=nodes)
    built_in = registry.evictors(
        ("node_dead", "reputation_floor", "node_overloaded", "node_underused")
    )
    plugins = [*built_in, _OwnMask(built_in[0])]
    plugins = [plugins[i] for i in order]
    params = PolicyParams()
    got = _fused_rows(snap, params, NOW, plugins)  # type: ignore[arg-type]
    want = replicas_on_each(snap, [p.nodes(snap, params, NOW) for p in plugins])  # type: ignore[union-attr]
    assert [rows.tolist() for rows in got] == [rows.tolist() for rows in want]


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 400),
    floor=st.sampled_from([0.0, 0.05, 0.1, 0.3, 0.5, 1.0]),
)
def test_floor_pass_equals_its_numpy_statement_on_the_boundaries(
    seed: int, n: int, floor: float
) -> None:
    """Tenures at the grace and at full tenure, scores on the bar (float32 and float64), NaN."""
    rng = np.random.default_rng(seed)
    snap = _network(seed, n, 3)
    base = PolicyParams()
    params = dataclasses.replace(
        base,
        eviction=dataclasses.replace(base.eviction, reputation_floor=floor),
        reputation=dataclasses.replace(base.reputation, tenure_full_s=1000.0),
        tiers=dataclasses.replace(base.tiers, established_tenure_s=100.0),
    )
    ago = rng.choice(
        [0.0, 99.0, 100.0, 101.0, 333.0, 500.0, 999.0, 1000.0, 1001.0, -50.0, np.nan], n
    )
    bar = floor * np.minimum(ago / 1000.0, 1.0)
    near = np.stack(
        [
            bar.astype(np.float32),
            np.nextafter(bar.astype(np.float32), np.float32(0)),
            np.nextafter(bar.astype(np.float32), np.float32(1)),
            np.full(n, np.float32(floor)),
            np.nextafter(np.full(n, np.float32(floor)), np.float32(0)),
            rng.choice(np.array([0.0, np.nan, 0.5], dtype=np.float32), n),
        ]
    )
    rep = near[rng.integers(0, near.shape[0], n), np.arange(n)].astype(np.float32)
    nodes = dataclasses.replace(snap.nodes, joined_at_s=NOW - ago, reputation=rep)
    snap = dataclasses.replace(snap, nodes=nodes)
    flags = flag_nodes(snap, params, NOW, [None, NodeTest.REPUTATION_FLOOR])
    want = _below_floor(snap, params, NOW).astype(np.uint8) << np.uint8(1)
    assert flags.code.tolist() == want.tolist()


def _with_replicas(snap: Snapshot, seed: int, k: int) -> Snapshot:
    """``k`` replica rows on random nodes (a fifth pending): rows whose flag must be looked up."""
    from governance.policy.build import make_replicas

    rng = np.random.default_rng(seed + 1)
    n = snap.nodes.size
    node = np.where(rng.random(k) < 0.2, -1, rng.integers(0, max(n, 1), k)) if n else -np.ones(k)
    service = rng.integers(0, snap.services.size, k)
    return dataclasses.replace(snap, replicas=make_replicas(service, node=node))


@settings(max_examples=120, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 700),
    k=st.integers(0, 400),
    resources=st.sampled_from([3, 3, 1, 2, 4]),
    tests=st.lists(st.sampled_from([*NodeTest, None]), min_size=1, max_size=8),
    overload=st.sampled_from([1.0, 0.5, 0.9, 1.2]),
    underused=st.sampled_from([0.0, 0.2, 0.5, 1.0]),
    floor=st.sampled_from([0.0, 0.05, 0.1, 0.3]),
)
def test_flag_scan_rows_equal_the_numpy_masks_lifted_to_replicas(
    seed: int,
    n: int,
    k: int,
    resources: int,
    tests: list[NodeTest | None],
    overload: float,
    underused: float,
    floor: float,
) -> None:
    """`flagged_rows`: per test, ``flatnonzero((node >= 0) & mask[node])`` of its numpy mask."""
    from governance.policy.evictors.flag_scan import flagged_rows

    snap = _with_replicas(_network(seed, n, resources), seed, k)
    base = PolicyParams()
    params = dataclasses.replace(
        base,
        eviction=dataclasses.replace(
            base.eviction,
            overload_fraction=overload,
            underused_fraction=underused,
            reputation_floor=floor,
        ),
    )
    got = flagged_rows(snap, params, NOW, tests)
    node = snap.replicas.node
    assigned = node >= 0
    for test, rows in zip(tests, got, strict=True):
        want = np.zeros(0, dtype=np.int64)
        if test is not None:
            mask = REFERENCE[test](snap, params, NOW)
            on = np.zeros(node.shape[0], dtype=bool)
            on[assigned] = mask[node[assigned]]
            want = np.flatnonzero(on)
        assert rows.tolist() == want.tolist()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 20_000), share=st.floats(0.0, 0.01))
def test_flag_scan_on_chunk_boundaries_and_sparse_flags(seed: int, n: int, share: float) -> None:
    """Many nodes (several chunks, a partial last one), a few dead: the rows on exactly those."""
    from governance.policy.build import make_nodes, make_replicas, make_services
    from governance.policy.evictors import flag_scan

    rng = np.random.default_rng(seed)
    dead = rng.random(n) < share
    nodes = make_nodes(np.ones((n, 3)), last_heartbeat_s=np.where(dead, 0.0, NOW))
    k = 2 * n
    node = rng.integers(-1, max(n, 1), k) if n else -np.ones(k)
    services = make_services(np.ones((1, 3)), replicas=[1])
    snap = Snapshot(nodes, services, make_replicas(np.zeros(k), node=node), None)  # type: ignore[arg-type]
    want = np.flatnonzero((node >= 0) & dead[np.maximum(node, 0)] if n else np.zeros(k, bool))
    chunk = flag_scan.CHUNK
    try:
        for flag_scan.CHUNK in (chunk, 64, 4096):
            (got,) = flag_scan.flagged_rows(snap, PolicyParams(), NOW, [NodeTest.DEAD])
            assert got.tolist() == want.tolist()
    finally:
        flag_scan.CHUNK = chunk
