"""Eviction: dead nodes, budgets, notice windows, dry-run, anti-flapping, overload."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.policy import (
    EvictionOutcome,
    EvictionParams,
    EvictionReason,
    PlacementReason,
    PolicyParams,
    Snapshot,
    apply_evictions,
    place,
    plan_evictions,
    run_cycle,
)
from governance.policy.registry import EVICTOR_NAMES
from governance.policy.synthetic import DAY_S, synthetic_network

NOW = 60 * DAY_S
OUT = list(EvictionOutcome)
REASON = list(EvictionReason)


def _placed(seed: int, nodes: int, services: int, **kw: object) -> Snapshot:
    snap = synthetic_network(nodes, services, np.random.default_rng(seed), now_s=NOW, **kw)  # type: ignore[arg-type]
    _, after = place(snap, PolicyParams(), NOW, np.random.default_rng(seed))
    return after


def _with_nodes(snap: Snapshot, **cols: object) -> Snapshot:
    return dataclasses.replace(snap, nodes=dataclasses.replace(snap.nodes, **cols))  # type: ignore[arg-type]


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    dead_share=st.floats(0.05, 0.9),
    mode=st.sampled_from(["sampled", "exact"]),
)
def test_every_replica_on_a_dead_node_is_rescheduled_or_reported(
    seed: int, dead_share: float, mode: str
) -> None:
    snap = _placed(seed, 300, 120, domains=8)
    rng = np.random.default_rng(seed)
    dead = rng.random(snap.nodes.size) < dead_share
    later = NOW + 120.0
    hb = np.where(dead, NOW - 1000.0, later)
    snap = _with_nodes(snap, last_heartbeat_s=hb)
    on_dead = np.flatnonzero((snap.replicas.node >= 0) & np.append(dead, False)[snap.replicas.node])
    params = PolicyParams(placement=dataclasses.replace(PolicyParams().placement, mode=mode))  # type: ignore[arg-type]
    result = run_cycle(snap, params, later, np.random.default_rng(seed))
    plan = result.plan
    ev = plan.evictions
    dead_code = REASON.index(EvictionReason.NODE_DEAD)
    executed = set(
        ev.replica[
            (ev.reason == dead_code) & (ev.outcome == OUT.index(EvictionOutcome.EXECUTED))
        ].tolist()
    )
    assert executed == set(on_dead.tolist())
    after = result.snapshot.replicas.node[on_dead]
    assert not np.any(np.append(dead, False)[after] & (after >= 0))
    pl = plan.placements
    placed_code = list(PlacementReason).index(PlacementReason.PLACED_BEST_SCORE)
    for rep in on_dead[after < 0].tolist():
        rows = np.flatnonzero(pl.replica == rep)
        assert rows.size == 1
        assert pl.reason[rows[0]] != placed_code


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    per_node=st.integers(0, 4),
    per_owner=st.integers(0, 6),
    total=st.integers(0, 40),
)
def test_budgets_are_never_exceeded(seed: int, per_node: int, per_owner: int, total: int) -> None:
    snap = _placed(seed, 200, 150, domains=6, newcomer_share=0.0)
    rng = np.random.default_rng(seed)
    rep = np.where(rng.random(snap.nodes.size) < 0.5, 0.01, snap.nodes.reputation).astype(
        np.float32
    )
    snap = _with_nodes(snap, reputation=rep)
    sla = rng.integers(0, 6, snap.replicas.size).astype(np.int32)
    snap = dataclasses.replace(
        snap, replicas=dataclasses.replace(snap.replicas, sla_violations=sla)
    )
    params = PolicyParams(
        eviction=EvictionParams(
            budget_per_node=per_node, budget_per_owner=per_owner, budget_total=total
        )
    )
    plan = plan_evictions(snap, params, NOW)
    sched = plan.outcome == OUT.index(EvictionOutcome.SCHEDULED)
    assert sched.sum() <= total
    nodes = plan.node[sched]
    owners = snap.services.owner[snap.replicas.service[plan.replica[sched]]]
    assert np.bincount(nodes).max(initial=0) <= per_node
    assert np.bincount(owners).max(initial=0) <= per_owner
    # refusals are reported, not dropped
    assert len(plan) >= sched.sum()
    if total == 0 and len(plan):
        assert plan.count(EvictionOutcome.REFUSED_TOTAL_BUDGET) + plan.count(
            EvictionOutcome.HELD_FLAPPING
        ) == len(plan)


def _low_rep_snapshot() -> Snapshot:
    snap = _placed(4, 50, 30, domains=5, newcomer_share=0.0)
    rep = snap.nodes.reputation.copy()
    rep[snap.replicas.node[0]] = 0.0
    return _with_nodes(snap, reputation=rep)


def test_notice_window_then_execution_and_cooldown() -> None:
    snap = _low_rep_snapshot()
    victim_node = int(snap.replicas.node[0])
    params = PolicyParams(eviction=EvictionParams(notice_s=300.0, budget_per_node=100))
    plan = plan_evictions(snap, params, NOW)
    assert plan.count(EvictionOutcome.SCHEDULED) >= 1
    assert plan.count(EvictionOutcome.EXECUTED) == 0
    s1 = apply_evictions(snap, plan, params, NOW)
    assert s1.replicas.node[0] == victim_node  # still running during the notice window
    assert s1.replicas.evict_at_s[0] == NOW + 300.0
    later = NOW + 301.0
    s1 = _with_nodes(s1, last_heartbeat_s=np.full(s1.nodes.size, later))
    rep = s1.nodes.reputation.copy()
    rep[victim_node] = 0.9  # recovered: cooldown must still keep the replica away
    s1 = _with_nodes(s1, reputation=rep)
    plan2 = plan_evictions(s1, params, later)
    assert 0 in plan2.replica[plan2.outcome == OUT.index(EvictionOutcome.EXECUTED)].tolist()
    s2 = apply_evictions(s1, plan2, params, later)
    assert s2.replicas.node[0] == -1
    assert s2.replicas.last_evicted_node[0] == victim_node
    _, s3 = place(s2, params, later, np.random.default_rng(0), mode="exact")
    assert s3.replicas.node[0] not in (-1, victim_node)


def test_dry_run_changes_nothing() -> None:
    snap = _low_rep_snapshot()
    params = PolicyParams(eviction=EvictionParams(dry_run=True, notice_s=0.0))
    result = run_cycle(snap, params, NOW, np.random.default_rng(0))
    assert result.snapshot is snap
    ev = result.plan.evictions
    assert ev.count(EvictionOutcome.DRY_RUN) >= 1
    assert ev.count(EvictionOutcome.SCHEDULED) == ev.count(EvictionOutcome.EXECUTED) == 0


def test_service_evicted_too_often_is_held() -> None:
    snap = _low_rep_snapshot()
    svc = int(snap.replicas.service[0])
    params = PolicyParams(eviction=EvictionParams(flap_max_evictions=2, budget_per_node=100))
    hist = snap.history
    counts = hist.evictions_in_window.copy()
    counts[svc] = 2
    starts = hist.window_started_at_s.copy()
    starts[svc] = NOW - 10.0
    snap = dataclasses.replace(
        snap,
        history=dataclasses.replace(hist, evictions_in_window=counts, window_started_at_s=starts),
    )
    plan = plan_evictions(snap, params, NOW)
    row = np.flatnonzero(plan.replica == 0)[0]
    assert plan.outcome[row] == OUT.index(EvictionOutcome.HELD_FLAPPING)
    # once the window has passed, the service may be evicted again
    later = NOW + params.eviction.flap_window_s
    snap = _with_nodes(snap, last_heartbeat_s=np.full(snap.nodes.size, later))
    plan = plan_evictions(snap, params, later)
    row = np.flatnonzero(plan.replica == 0)[0]
    assert plan.outcome[row] == OUT.index(EvictionOutcome.SCHEDULED)


def test_overloaded_node_sheds_lowest_priority_first() -> None:
    snap = _placed(6, 40, 60, domains=4, newcomer_share=0.0)
    node = int(np.argmax(snap.nodes.replicas_held))
    used = snap.nodes.used.copy()
    cap = snap.nodes.capacity.copy()
    cap[node] = np.floor(used[node] * 0.5)  # the node shrank: now overloaded
    snap = _with_nodes(snap, capacity=cap)
    params = PolicyParams(eviction=EvictionParams(budget_per_node=100, budget_per_owner=100))
    plan = plan_evictions(snap, params, NOW)
    over = plan.reason == REASON.index(EvictionReason.NODE_OVERLOADED)
    chosen = plan.replica[over]
    assert chosen.size >= 1
    on_node = np.flatnonzero(snap.replicas.node == node)
    crit = snap.services.criticality[snap.replicas.service]
    kept = np.setdiff1d(on_node, chosen)
    if kept.size:
        assert crit[chosen].max() <= crit[kept].min() or crit[chosen].min() <= crit[kept].min()
    freed = snap.services.demand[snap.replicas.service[chosen]].sum(axis=0)
    assert np.all(used[node] - freed <= cap[node])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), masks=st.integers(0, 9), share=st.floats(0.0, 0.5))
def test_one_pass_over_replicas_finds_each_masks_replicas(
    seed: int, masks: int, share: float
) -> None:
    from governance.policy.evictors.common import replicas_on, replicas_on_each

    snap = _placed(seed, 200, 80, domains=4)
    rng = np.random.default_rng(seed)
    node = snap.replicas.node.copy()
    node[rng.random(node.size) < 0.1] = -1  # some pending rows, which sit on no node
    snap = dataclasses.replace(snap, replicas=dataclasses.replace(snap.replicas, node=node))
    drawn = [rng.random(snap.nodes.size) < share for _ in range(masks)]
    given_masks: list[np.ndarray | None] = [*drawn, None]
    got = replicas_on_each(snap, given_masks)
    assert got[-1].size == 0
    for mask, rows in zip(drawn, got, strict=False):
        want = np.flatnonzero(np.append(mask, False)[node])  # node -1 reads the padding
        assert rows.tolist() == want.tolist()
        assert replicas_on(snap, mask).tolist() == want.tolist()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 200))
def test_dead_nodes_are_stale_or_unhealthy(seed: int, n: int) -> None:
    from governance.policy.evictors.node_dead import PLUGIN

    rng = np.random.default_rng(seed)
    params = PolicyParams()
    ttl = params.eviction.heartbeat_ttl_s
    beats = NOW - ttl + rng.choice([-1.0, 0.0, 1.0, -1e-9, 1e-9, -5e3, 0.5], n)
    snap = _placed(seed, n, 1, domains=2)
    snap = _with_nodes(snap, last_heartbeat_s=beats, healthy=rng.random(n) < 0.8)
    want = (snap.nodes.last_heartbeat_s < NOW - ttl) | ~snap.nodes.healthy
    assert PLUGIN.nodes(snap, params, NOW).tolist() == want.tolist()


def test_node_plugins_propose_what_the_planner_finds() -> None:
    """Each node-flagging plugin's own `propose` equals its share of the one-pass planner."""
    from governance.policy import registry
    from governance.policy.eviction import _on_flagged_nodes

    snap = _placed(3, 300, 150, domains=8)
    n = snap.nodes.size
    rng = np.random.default_rng(3)
    snap = _with_nodes(
        snap,
        last_heartbeat_s=np.where(rng.random(n) < 0.2, NOW - 10_000.0, NOW),
        reputation=np.where(rng.random(n) < 0.2, 0.01, 0.9).astype(np.float32),
        used=snap.nodes.used * np.where(rng.random(n) < 0.2, 3.0, 1.0)[:, None].astype(np.float32),
    )
    params = PolicyParams(
        eviction=dataclasses.replace(PolicyParams().eviction, plugins=registry.EVICTOR_NAMES)
    )
    plugins = registry.evictors(params.eviction.plugins)
    found = _on_flagged_nodes(snap, params, NOW, plugins)
    assert {"node_dead", "reputation_floor", "node_overloaded", "node_underused"} <= set(found)
    assert sum(rows.size for rows in found.values()) > 0
    for plugin in plugins:
        if plugin.name in found:
            assert found[plugin.name].tolist() == plugin.propose(snap, params, NOW).tolist()


def _reference_candidates(
    snap: Snapshot, params: PolicyParams, now_s: float
) -> tuple[list[int], list[int], list[bool]]:
    """Every plugin's own proposal; per replica the most severe (registry order); sorted."""
    from governance.policy import registry
    from governance.policy.reasons import code

    plugins = registry.evictors(params.eviction.plugins)
    found = [p.propose(snap, params, now_s) for p in plugins]
    counts = [rows.size for rows in found]
    if not any(counts):
        return [], [], []
    rows = np.concatenate(found)
    reason = np.repeat([code(p.reason) for p in plugins], counts)
    bypass = np.repeat([p.bypass_budgets for p in plugins], counts)
    severity = np.repeat([registry.EVICTOR_NAMES.index(p.name) for p in plugins], counts)
    crit = snap.services.criticality[snap.replicas.service[rows]]
    order = np.lexsort((rows, crit, severity))
    rows, reason, bypass = rows[order], reason[order], bypass[order]
    _, first = np.unique(rows, return_index=True)
    keep = np.sort(first)
    return rows[keep].tolist(), reason[keep].tolist(), bypass[keep].tolist()


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    names=st.lists(
        st.sampled_from(EVICTOR_NAMES),
        min_size=1,
        max_size=6,
        unique=True,
    ),
    share=st.sampled_from([0.0, 0.01, 0.2]),
)
def test_candidates_equal_every_plugins_own_proposal_merged(
    seed: int, names: list[str], share: float
) -> None:
    """The planner's candidates (one plugin proposing, or several) equal the plain merge."""
    from governance.policy.eviction import _candidates
    from governance.policy.types import PaymentStatus

    snap = _placed(seed % 7, 200, 90, domains=4)
    rng = np.random.default_rng(seed)
    n, m, k = snap.nodes.size, snap.services.size, snap.replicas.size
    snap = _with_nodes(
        snap,
        last_heartbeat_s=np.where(rng.random(n) < share, NOW - 10_000.0, NOW),
        reputation=np.where(rng.random(n) < share, 0.01, 0.9).astype(np.float32),
        used=snap.nodes.used
        * np.where(rng.random(n) < share, 3.0, 1.0)[:, None].astype(np.float32),
    )
    payment = np.where(rng.random(m) < share, PaymentStatus.UNPAID, PaymentStatus.PAID)
    reps = snap.replicas
    snap = dataclasses.replace(
        snap,
        services=dataclasses.replace(snap.services, payment=payment.astype(np.int8)),
        replicas=dataclasses.replace(
            reps,
            sla_violations=np.where(rng.random(k) < share, 5, 0).astype(np.int32),
            evict_at_s=np.where(rng.random(k) < share, NOW + 60.0, np.inf),
        ),
    )
    params = PolicyParams(
        eviction=dataclasses.replace(PolicyParams().eviction, plugins=tuple(names))
    )
    rows, reason, bypass = _candidates(snap, params, NOW)
    assert (rows.tolist(), reason.tolist(), bypass.tolist()) == _reference_candidates(
        snap, params, NOW
    )


def test_replace_fields_equals_dataclasses_replace() -> None:
    from governance.policy.results import replace_fields

    snap = _placed(1, 50, 20)
    used = snap.nodes.used * 2
    got = replace_fields(snap.nodes, used=used, tier=snap.nodes.tier[::-1])
    want = dataclasses.replace(snap.nodes, used=used, tier=snap.nodes.tier[::-1])
    assert type(got) is type(want)
    for f in dataclasses.fields(want):
        assert getattr(got, f.name) is getattr(want, f.name) or np.array_equal(
            getattr(got, f.name), getattr(want, f.name)
        )
    assert replace_fields(snap, nodes=got).nodes is got
