"""The simulated actuator refuses and counts evictions that break budgets or notice windows."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.policy import EvictionOutcome, EvictionReason, PolicyParams
from governance.policy.reasons import EVICTION_OUTCOMES, EVICTION_REASONS
from governance.policy.results import (
    CyclePlan,
    CycleResult,
    EvictionPlan,
    PlacementPlan,
    ReputationUpdate,
    journal,
)
from sim import kernels
from sim.actuator import _excess, apply_plan
from sim.core import STREAM_WORLD, stream
from sim.scenario import Scenario
from sim.world import generate_world


def _plan(world, rows, reason, outcome, deadline):  # type: ignore[no-untyped-def]
    snap = world.snapshot
    n = len(rows)
    rows = np.asarray(rows, dtype=np.int32)
    ev = EvictionPlan(
        replica=rows,
        node=snap.replicas.node[rows],
        reason=np.full(n, EVICTION_REASONS.index(reason), np.int8),
        outcome=np.full(n, EVICTION_OUTCOMES.index(outcome), np.int8),
        deadline_s=np.full(n, deadline),
    )
    empty = np.zeros(0, np.int32)
    pp = PlacementPlan(
        empty,
        empty,
        empty.astype(np.int8),
        np.zeros(0),
        (),
        np.zeros((0, 0), np.float32),
        empty.astype(np.int8),
    )
    nodes = snap.nodes
    rep = ReputationUpdate(nodes.reputation, nodes.tier, np.zeros(nodes.size, bool))
    return CycleResult(CyclePlan("t", 100.0, False, rep, ev, pp), snap)


def _placed_world(tiny_scenario: Scenario):  # type: ignore[no-untyped-def]
    world = generate_world(stream(1, STREAM_WORLD), tiny_scenario, tiny_scenario.sizes)
    snap = world.snapshot
    snap.replicas.node[:] = 0  # every replica on node 0: one node, one owner budget
    return world


def test_excess_marks_rows_beyond_the_limit_per_key() -> None:
    keys = np.array([3, 1, 3, 3, 1])
    assert _excess(keys, 2).tolist() == [False, False, False, True, False]


def test_budget_breaking_schedules_are_refused_and_counted(tiny_scenario: Scenario) -> None:
    world = _placed_world(tiny_scenario)
    params = PolicyParams()
    limit = params.eviction.budget_per_node
    before = world.snapshot
    result = _plan(
        world,
        range(limit + 3),
        EvictionReason.REPUTATION_BELOW_FLOOR,
        EvictionOutcome.SCHEDULED,
        400.0,
    )
    act = apply_plan(world, before, result, params, step=1)
    assert act.budget_violations == 3
    assert act.notice_violations == 0


def test_early_execution_is_a_notice_violation_but_dead_nodes_are_exempt(
    tiny_scenario: Scenario,
) -> None:
    world = _placed_world(tiny_scenario)
    params = PolicyParams()
    before = world.snapshot
    early = _plan(world, [0, 1], EvictionReason.NODE_OVERLOADED, EvictionOutcome.EXECUTED, 500.0)
    assert apply_plan(world, before, early, params, step=1).notice_violations == 2
    dead = _plan(world, [0, 1], EvictionReason.NODE_DEAD, EvictionOutcome.EXECUTED, 500.0)
    assert apply_plan(world, replace(before), dead, params, step=1).notice_violations == 0


def test_three_evictions_in_the_window_are_a_loop(tiny_scenario: Scenario) -> None:
    world = _placed_world(tiny_scenario)
    params = PolicyParams()
    loops = []
    for step in (1, 5, 9, 40):
        result = _plan(world, [7], EvictionReason.SLA_VIOLATIONS, EvictionOutcome.EXECUTED, 0.0)
        loops.append(apply_plan(world, world.snapshot, result, params, step).eviction_loops)
    assert loops == [0, 0, 1, 0]
    for step in (50, 51, 52):  # dead nodes are failures, not decisions: never a loop
        result = _plan(world, [8], EvictionReason.NODE_DEAD, EvictionOutcome.EXECUTED, 0.0)
        assert apply_plan(world, world.snapshot, result, params, step).eviction_loops == 0


def test_refused_evictions_of_a_donated_cycle_come_back_from_its_journal(
    tiny_scenario: Scenario,
) -> None:
    world = _placed_world(tiny_scenario)
    params = PolicyParams()
    limit = params.eviction.budget_per_node
    rows = np.arange(limit + 3)
    reps = world.snapshot.replicas
    kept = journal(reps, rows)  # taken by the cycle before it writes
    original_at = reps.evict_at_s.copy()
    result = _plan(
        world, rows, EvictionReason.REPUTATION_BELOW_FLOOR, EvictionOutcome.SCHEDULED, 400.0
    )
    # A donating cycle wrote the schedules into the very columns the world holds.
    reps.evict_at_s[rows] = 400.0
    act = apply_plan(world, world.snapshot, replace(result, journal=kept), params, step=1)
    assert act.budget_violations == 3
    at = world.snapshot.replicas.evict_at_s
    assert at[rows[limit:]].tolist() == original_at[rows[limit:]].tolist()  # refused: put back
    assert (at[rows[:limit]] == 400.0).all()  # accepted: kept


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.integers(-1, 9), max_size=60),
    codes=st.sets(st.integers(-1, 9), max_size=4),
)
def test_count_in_equals_isin(values: list[int], codes: set[int]) -> None:
    array = np.asarray(values, dtype=np.int8)
    got = kernels.count_codes_jit(array, np.asarray(sorted(codes), dtype=np.int64))
    assert got == int(np.isin(array, list(codes)).sum())
