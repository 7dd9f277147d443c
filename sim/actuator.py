"""The simulated actuator: applies a policy plan to the world, enforcing budgets and notice windows.

The policy core returns its plan and the snapshot with the plan applied. A real actuator would carry
out the moves; here the world takes the applied snapshot, and the actuator re-checks every eviction
against the same `PolicyParams` budgets (per node, per owner, in total per cycle) and notice window,
exactly as the network service's actuator does. A move that breaks them is refused (reverted) and
counted as a budget or notice violation, which must stay 0. It also counts eviction loops: a live
replica evicted by the policy three times within `LOOP_WINDOW_STEPS` (dead-node evictions are
failures, not decisions, and do not count).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from governance.policy import EvictionOutcome, EvictionReason, PlacementReason, PolicyParams
from governance.policy.reasons import EVICTION_OUTCOMES, EVICTION_REASONS, PLACEMENT_REASONS
from governance.policy.results import JOURNALED_COLUMNS, CycleResult
from governance.policy.types import NO_NODE, Snapshot
from sim import kernels
from sim.kpis import LOOP_WINDOW_STEPS
from sim.world import I64, World

_SCHEDULED = EVICTION_OUTCOMES.index(EvictionOutcome.SCHEDULED)
_EXECUTED = EVICTION_OUTCOMES.index(EvictionOutcome.EXECUTED)
_REFUSED = np.array(
    [
        EVICTION_OUTCOMES.index(o)
        for o in (
            EvictionOutcome.REFUSED_NODE_BUDGET,
            EvictionOutcome.REFUSED_OWNER_BUDGET,
            EvictionOutcome.REFUSED_TOTAL_BUDGET,
        )
    ],
    dtype=np.int64,
)
_DEAD = EVICTION_REASONS.index(EvictionReason.NODE_DEAD)
_FAILED_PLACEMENT = np.array(
    [
        PLACEMENT_REASONS.index(r)
        for r in (PlacementReason.NO_FEASIBLE_NODE, PlacementReason.NO_FEASIBLE_CANDIDATE)
    ],
    dtype=np.int64,
)
_NOTICE_SLACK_S = 1e-6
#: No rows (shared, read-only): most cycles at small sizes evict nothing.
_NO_ROWS = np.zeros(0, dtype=np.int64)
_NO_ROWS.flags.writeable = False


@dataclass(frozen=True, slots=True)
class Actuation:
    """What the actuator did with one plan."""

    placed: I64  # replica rows placed this cycle
    placement_failures: int
    evictions: int  # executed
    evictions_refused: int  # refused by the policy's own budgets
    budget_violations: int
    notice_violations: int
    eviction_loops: int


def _excess(keys: np.ndarray, limit: int) -> np.ndarray:
    """Bool mask of rows beyond the first `limit` rows of each key (stable order)."""
    if keys.size == 0:
        return np.zeros(0, dtype=np.bool_)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_keys)) + 1]
    rank = np.arange(keys.size) - np.repeat(starts, np.diff(np.r_[starts, keys.size]))
    over = np.zeros(keys.size, dtype=np.bool_)
    over[order] = rank >= limit
    return over


def _audit(
    before: Snapshot, result: CycleResult, params: PolicyParams, now_s: float
) -> tuple[I64, I64, I64]:
    ev = result.plan.evictions
    if ev.outcome.size == 0:
        return _NO_ROWS, _NO_ROWS, _NO_ROWS
    budgeted = (ev.reason != _DEAD) & (ev.outcome == _SCHEDULED)
    rows = np.flatnonzero(budgeted)
    bad_budget = rows
    if rows.size:
        owners = before.services.owner[before.replicas.service[ev.replica[rows]]]
        budget = params.eviction
        over = _excess(ev.node[rows].astype(np.int64), budget.budget_per_node)
        over |= _excess(owners, budget.budget_per_owner)
        over |= np.arange(rows.size) >= budget.budget_total
        bad_budget = rows[over]
    executed = np.flatnonzero(ev.outcome == _EXECUTED)
    bad_notice = executed
    if executed.size:
        early = ev.reason[executed] != _DEAD
        early &= ev.deadline_s[executed] > now_s + _NOTICE_SLACK_S
        bad_notice = executed[early]
    return bad_budget, bad_notice, executed


def _revert(world: World, before: Snapshot, result: CycleResult, replicas: np.ndarray) -> None:
    """Put refused evictions back as they were before the cycle.

    A donating cycle wrote into ``before``'s columns: its journal holds their old values.
    """
    snap = world.snapshot
    if result.journal is not None:
        result.journal.restore(snap.replicas, np.unique(replicas).astype(np.int64))
        return
    for column in JOURNALED_COLUMNS:
        getattr(snap.replicas, column)[replicas] = getattr(before.replicas, column)[replicas]


def apply_plan(
    world: World, before: Snapshot, result: CycleResult, params: PolicyParams, step: int
) -> Actuation:
    """Adopt the applied snapshot, refusing (and counting) moves that break budgets or notice."""
    now_s = result.plan.now_s
    bad_budget, bad_notice, executed = _audit(before, result, params, now_s)
    world.snapshot = result.snapshot
    ev = result.plan.evictions
    if bad_budget.size or bad_notice.size:
        refused_rows = np.concatenate([bad_budget, bad_notice])
        _revert(world, before, result, ev.replica[refused_rows])
        from governance.policy.build import recompute_usage

        snap = world.snapshot
        world.snapshot = Snapshot(
            nodes=recompute_usage(snap.nodes, snap.services, snap.replicas),
            services=snap.services,
            replicas=snap.replicas,
            history=snap.history,
            observations=snap.observations,
        )
    # ``executed`` is sorted and unique (flatnonzero): with nothing refused it is the difference.
    done = np.setdiff1d(executed, bad_notice) if bad_notice.size else executed
    # Loops count the policy's own evictions of live replicas; a dead node is a failure, not a
    # decision (churn can kill a replica's host three times in a window without any flapping).
    loops = 0
    if done.size:
        decided = done[ev.reason[done] != _DEAD]
        loops = _count_loops(world, ev.replica[decided].astype(np.int64), step)
    pp = result.plan.placements
    placed = np.empty(pp.replica.size, dtype=np.int64)
    on = world.snapshot.replicas.node
    placed = placed[: kernels.placed_rows_jit(pp.replica, pp.node, on, NO_NODE, placed)]
    world.snapshot.replicas.sla_violations[placed] = 0  # a fresh placement has no history
    return Actuation(
        placed=placed,
        placement_failures=int(kernels.count_codes_jit(pp.reason, _FAILED_PLACEMENT)),
        evictions=int(done.size),
        evictions_refused=int(kernels.count_codes_jit(ev.outcome, _REFUSED)),
        budget_violations=int(bad_budget.size),
        notice_violations=int(bad_notice.size),
        eviction_loops=loops,
    )


def _count_loops(world: World, replicas: I64, step: int) -> int:
    """Record evictions; count replicas now evicted 3 times within the loop window."""
    if replicas.size == 0:
        return 0
    last = world.replica_last_evictions
    last[replicas, 0:2] = last[replicas, 1:3]
    last[replicas, 2] = step
    return int(np.count_nonzero(step - last[replicas, 0] <= LOOP_WINDOW_STEPS))
