"""Multi-cycle run_cycle properties under churn: capacity, quotas, budgets, dead nodes, flapping."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.policy import (
    EvictionOutcome,
    EvictionParams,
    EvictionReason,
    PolicyParams,
    Snapshot,
    Tier,
    run_cycle,
)
from governance.policy.build import make_observations
from governance.policy.synthetic import DAY_S, synthetic_network

NOW = 60 * DAY_S
OUT = list(EvictionOutcome)
SCHEDULED = OUT.index(EvictionOutcome.SCHEDULED)


def _world(snap: Snapshot, rng: np.random.Generator, now: float) -> Snapshot:
    """Random outages, lies and SLA trouble for one cycle."""
    n = snap.nodes.size
    up = rng.random(n) > 0.1
    obs = dataclasses.replace(
        make_observations(n, 600.0),
        uptime_fraction=up.astype(np.float32),
        reported_capacity=snap.nodes.capacity * np.where(rng.random(n) < 0.05, 2, 1)[:, None],
        observed_capacity=snap.nodes.capacity,
    )
    hb = np.where(up, now, snap.nodes.last_heartbeat_s)
    sla = rng.integers(0, 5, snap.replicas.size).astype(np.int32)
    return dataclasses.replace(
        snap,
        nodes=dataclasses.replace(snap.nodes, last_heartbeat_s=hb),
        replicas=dataclasses.replace(snap.replicas, sla_violations=sla),
        observations=obs,
    )


def check_cycles(seed: int, mode: str, cycles: int, budgets: tuple[int, int, int]) -> None:
    rng = np.random.default_rng(seed)
    snap = synthetic_network(300, 150, np.random.default_rng(seed), now_s=NOW, domains=6)
    params = PolicyParams(
        placement=dataclasses.replace(PolicyParams().placement, mode=mode),  # type: ignore[arg-type]
        eviction=EvictionParams(
            budget_per_node=budgets[0],
            budget_per_owner=budgets[1],
            budget_total=budgets[2],
            notice_s=300.0,
            cooldown_s=1800.0,
            plugins=("node_dead", "reputation_floor", "node_overloaded", "sla_violations"),
        ),
    )
    now = NOW
    for _ in range(cycles):
        now += 600.0
        snap = _world(snap, rng, now)
        before = snap.replicas
        result = run_cycle(snap, params, now, rng)
        after, plan = result.snapshot, result.plan
        nodes = after.nodes
        # capacity and newcomer quota
        assert np.all(nodes.used <= nodes.capacity)
        newcomer = nodes.tier == Tier.NEWCOMER
        placed_now = plan.placements.node >= 0
        targets = plan.placements.node[placed_now]
        assert np.all(nodes.replicas_held[targets[newcomer[targets]]] <= 2)
        # no replica left on a dead node
        dead = (now - nodes.last_heartbeat_s) > params.eviction.heartbeat_ttl_s
        on = after.replicas.node
        assert not np.any((on >= 0) & np.append(dead, False)[on])
        # budgets for the evictions scheduled this cycle
        ev = plan.evictions
        sched = ev.outcome == SCHEDULED
        assert sched.sum() <= budgets[2]
        assert np.bincount(ev.node[sched]).max(initial=0) <= budgets[0]
        owners = after.services.owner[after.replicas.service[ev.replica[sched]]]
        assert np.bincount(owners).max(initial=0) <= budgets[1]
        # anti-flapping: nothing placed back on the node it left within the cooldown
        rows = plan.placements.replica[placed_now]
        cooling = now < after.replicas.last_evicted_at_s[rows] + params.eviction.cooldown_s
        assert not np.any(cooling & (after.replicas.last_evicted_node[rows] == targets))
        # replicas that were running and not evicted stay where they were
        executed = ev.replica[ev.outcome == OUT.index(EvictionOutcome.EXECUTED)]
        kept = np.setdiff1d(np.flatnonzero(before.node >= 0), executed)
        assert np.array_equal(after.replicas.node[kept], before.node[kept])
        snap = after


@settings(max_examples=8, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    mode=st.sampled_from(["sampled", "exact"]),
    budgets=st.tuples(st.integers(0, 3), st.integers(0, 5), st.integers(0, 30)),
)
def test_cycles_keep_invariants(seed: int, mode: str, budgets: tuple[int, int, int]) -> None:
    check_cycles(seed, mode, cycles=4, budgets=budgets)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    mode=st.sampled_from(["sampled", "exact"]),
    budgets=st.tuples(st.integers(0, 6), st.integers(0, 10), st.integers(0, 200)),
)
def test_cycles_keep_invariants_long(seed: int, mode: str, budgets: tuple[int, int, int]) -> None:
    check_cycles(seed, mode, cycles=10, budgets=budgets)


def test_newcomers_are_not_evicted_for_a_score_they_could_not_earn() -> None:
    snap = synthetic_network(200, 120, np.random.default_rng(3), now_s=NOW, newcomer_share=1.0)
    params = PolicyParams()
    first = run_cycle(snap, params, NOW, np.random.default_rng(0)).snapshot
    newcomer = first.nodes.tier == Tier.NEWCOMER
    on_newcomer = (first.replicas.node >= 0) & np.append(newcomer, False)[first.replicas.node]
    assert on_newcomer.any()
    again = run_cycle(first, params, NOW + 60.0, np.random.default_rng(1))
    ev = again.plan.evictions
    assert not np.isin(ev.replica, np.flatnonzero(on_newcomer)).any()


def test_an_honest_newcomer_is_not_evicted_while_its_score_climbs() -> None:
    """The growth scenario's finding: with a fast grace the floor must scale with tenure."""
    params = PolicyParams.from_mapping(
        {
            "reputation": {"tenure_full_s": 14400, "gain_tau_s": 7200, "loss_tau_s": 1800},
            "tiers": {"established_tenure_s": 3600, "trusted_tenure_s": 14400},
            "placement": {"mode": "exact"},
            "eviction": {"notice_s": 600, "heartbeat_ttl_s": 1300, "cooldown_s": 3600},
        }
    )
    snap = synthetic_network(40, 30, np.random.default_rng(2), now_s=NOW, newcomer_share=1.0)
    joined = np.full(snap.nodes.size, NOW)  # every node is a brand-new, honest key
    snap = dataclasses.replace(
        snap,
        nodes=dataclasses.replace(snap.nodes, joined_at_s=joined, reputation=np.zeros(40)),
    )
    rng = np.random.default_rng(0)
    now = NOW
    for _ in range(40):  # 40 steps of 600 s: through the grace and well past it
        now += 600.0
        hb = np.full(snap.nodes.size, now)
        snap = dataclasses.replace(
            snap,
            nodes=dataclasses.replace(snap.nodes, last_heartbeat_s=hb),
            observations=make_observations(snap.nodes.size, 600.0),
        )
        result = run_cycle(snap, params, now, rng)
        floor = list(EvictionReason).index(EvictionReason.REPUTATION_BELOW_FLOOR)
        assert not np.any(result.plan.evictions.reason == floor)
        snap = result.snapshot
    # ... while a liar among them is still caught by the floor
    obs = make_observations(snap.nodes.size, 600.0)
    reported = snap.nodes.capacity.copy()
    reported[0] *= 2
    liar = dataclasses.replace(
        obs, reported_capacity=reported, observed_capacity=snap.nodes.capacity
    )
    for _ in range(6):
        now += 600.0
        hb = np.full(snap.nodes.size, now)
        snap = dataclasses.replace(
            snap, nodes=dataclasses.replace(snap.nodes, last_heartbeat_s=hb), observations=liar
        )
        snap = run_cycle(snap, params, now, rng).snapshot
    assert snap.nodes.reputation[0] < 0.1 * snap.nodes.reputation[1:].mean()
