"""The fused filter pass gives the verdicts of the numpy tests and of the filter plugins."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.policy import PolicyParams, registry
from governance.policy.filters.fused import check_picks, check_picks_jit, fused_bits
from governance.policy.prepare import build_context
from governance.policy.synthetic import DAY_S, synthetic_network
from governance.policy.types import NO_REGION, Tier

NOW = 60 * DAY_S


@settings(max_examples=120, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 40),
    picks=st.integers(0, 60),
    resources=st.sampled_from([1, 3]),
    bits=st.integers(0, 127),
    scale=st.booleans(),
    mapped=st.booleans(),
)
def test_check_picks_equals_the_numpy_tests(
    seed: int, n: int, picks: int, resources: int, bits: int, scale: bool, mapped: bool
) -> None:
    rng = np.random.default_rng(seed)
    n_svc, n_rep = 7, 30
    healthy, draining = rng.random(n) < 0.8, rng.random(n) < 0.2
    heartbeat = rng.choice([0.0, 5.0, 10.0, np.nan], n)
    cap = rng.choice([0.0, 1.0, 4.0, 10.0, 16.0, np.nan], (n, resources)).astype(np.float32)
    used = rng.choice([0.0, 1.0, 2.0, 3.0, 8.0, np.nan], (n, resources)).astype(np.float32)
    demand = rng.choice([0.0, 1.0, 2.0, 4.0, 6.5], (n_svc, resources)).astype(np.float32)
    tier = rng.integers(0, 3, n).astype(np.int8)
    held = rng.integers(0, 5, n).astype(np.int32)
    crit = rng.integers(0, 4, n_svc).astype(np.int8)
    svc_region = rng.choice([NO_REGION, 0, 1], n_svc).astype(np.int32)
    node_region = rng.integers(0, 2, n).astype(np.int32)
    want_replicas = rng.integers(1, 5, n_svc).astype(np.int32)
    # at or just under some service's count: the boundary of `<=` comes up often
    live = int(rng.choice(want_replicas)) - int(rng.integers(0, 2))
    spread = want_replicas <= live  # the services that spread
    rep_service = rng.integers(0, n_svc, n_rep).astype(np.int32)
    evicted_at = rng.choice([-np.inf, 1.0, 8.0, np.nan], n_rep)
    evicted_node = rng.integers(-1, 3 * n, n_rep).astype(np.int32)
    rows = rng.permutation(3 * n)[:n].astype(np.int64) if mapped else np.zeros(0, dtype=np.int64)
    nodes = rng.integers(0, n, picks).astype(np.int32)
    reps = rng.integers(0, n_rep, picks).astype(np.int32)
    counts = rng.integers(0, 2, picks).astype(np.int32)
    frac, fresh, now, cooldown = np.float32(0.5), 5.0, 10.0, 3.0
    svc, newcomer = rep_service[reps], tier[nodes] == Tier.NEWCOMER
    # The numpy tests of the plugins, each applied when its bit is set.
    want = np.ones(picks, dtype=bool)
    if bits & 1:
        want &= healthy[nodes] & ~draining[nodes] & (heartbeat[nodes] >= fresh)
    if bits & 2:
        limit = np.take(cap, nodes, axis=0)
        if scale:
            np.multiply(limit, frac, out=limit, where=newcomer[:, None])
        want &= np.all(used[nodes] + demand[svc] <= limit, axis=1)
    if bits & 4:
        want &= ~((crit[svc] > 1) & newcomer)
    if bits & 8:
        want &= ~newcomer | (held[nodes] < 2)
    if bits & 16:
        want &= (svc_region[svc] == NO_REGION) | (node_region[nodes] == svc_region[svc])
    if bits & 32:
        want &= ~spread[svc] | (counts == 0)
    if bits & 64:
        glob = rows[nodes] if mapped else nodes
        want &= ~((now < evicted_at[reps] + cooldown) & (glob == evicted_node[reps]))
    got = np.empty(picks, dtype=bool)
    check_picks_jit(bits, nodes, reps, rep_service, healthy, draining, heartbeat, fresh, used, cap,
                    tier, scale, frac, demand, crit, 1, held, 2, svc_region, node_region,
                    want_replicas, live, counts, evicted_at, evicted_node, cooldown, now, rows,
                    got)  # fmt: skip
    assert got.tolist() == want.tolist()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), reputation=st.booleans(), subset=st.integers(1, 127))
def test_check_picks_equals_the_plugins(seed: int, reputation: bool, subset: int) -> None:
    rng = np.random.default_rng(seed)
    snap = synthetic_network(80, 50, rng, now_s=NOW, domains=4, newcomer_share=0.3)
    used = np.floor(snap.nodes.capacity * rng.uniform(0, 1.2, (80, 1))).astype(np.float32)
    nodes = dataclasses.replace(snap.nodes, used=used, draining=rng.random(80) < 0.2)
    reps_table = dataclasses.replace(
        snap.replicas,
        last_evicted_node=rng.integers(0, 80, snap.replicas.size).astype(np.int32),
        last_evicted_at_s=NOW - rng.choice([1.0, 1e9], snap.replicas.size),
    )
    snap = dataclasses.replace(snap, nodes=nodes, replicas=reps_table)
    params = PolicyParams()
    params = dataclasses.replace(
        params, reputation=dataclasses.replace(params.reputation, enabled=reputation)
    )
    rows = np.flatnonzero(snap.replicas.node < 0)[:30]
    ctx = build_context(snap, params, NOW, rows, used.copy(), nodes.replicas_held.copy())
    names = [n for i, n in enumerate(registry.FILTER_NAMES) if subset >> i & 1]
    filters = registry.filters(tuple(names))
    bits = fused_bits(filters)
    assert bits is not None
    picks = rng.integers(0, 80, rows.shape[0]).astype(np.int32)
    reps = rows.astype(np.int32)
    want = np.ones(rows.shape[0], dtype=bool)
    for f in filters:
        want &= f.mask(ctx, picks[:, None], reps)[:, 0]
    svc = snap.replicas.service[reps]
    counts = ctx.pairs.count_pairs(svc, snap.nodes.failure_domain, picks[:, None])[:, 0]
    assert check_picks(ctx, bits, picks, reps, counts).tolist() == want.tolist()


def test_look_alike_plugins_are_not_fused() -> None:
    class Other:
        name = "region"

    assert fused_bits([*registry.filters(registry.FILTER_NAMES), Other()]) is None  # type: ignore[list-item]
    assert fused_bits(registry.filters(registry.FILTER_NAMES)) == 127
