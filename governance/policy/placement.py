"""Placement of pending replicas: exact greedy over a node index, or sampled best-of-k batches.

Both modes run the same filter and scorer plugins (`PolicyParams.placement`). Score of node n for
replica r = sum of weight * factor over the enabled scorers, each factor in [0, 1].

* exact: replicas in row order, each to its best feasible node given every earlier decision.
  Nodes are walked in order of an upper-bound key (the node-only part of the score), so a decision
  visits a handful of nodes, not all of them; the locality bonus is checked in the few domains
  where it applies.
* sampled: ``sample_k`` candidates per replica, drawn uniformly from all nodes when the call is
  small (no O(n) work at all) and otherwise from a pool of the top ``pool_factor * replicas``
  available nodes by key, chosen once per call; there replica i's first candidate is the i-th of
  the pool's best nodes (one per replica, O(n) selection, no sort), the others are uniform draws.
  In batches of ``batch_size`` the best feasible candidate is committed optimistically; conflicts
  (capacity, newcomer quota, anti-affinity inside the batch) are resolved in replica order and the
  losers retry with fresh samples for ``sample_rounds`` rounds. Reported scores are taken at commit
  time, as in exact mode.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING, Literal

import numba
import numpy as np

from governance.policy import registry
from governance.policy.exact import place_exact
from governance.policy.prefetch import prefetch_read
from governance.policy.prepare import build_context
from governance.policy.reasons import FILTER_REASONS, PlacementReason, code
from governance.policy.results import PlacementPlan
from governance.policy.sampled import Decisions, new_decisions, place_sampled
from governance.policy.scans import pending_paid_rows, unassigned_rows
from governance.policy.types import F64, I8, I32, I64, PaymentStatus, Snapshot

if TYPE_CHECKING:
    from governance.policy.context import Filter, Scorer
    from governance.policy.params import PolicyParams

_PLACED = code(PlacementReason.PLACED_BEST_SCORE)
_UNPAID = code(PlacementReason.SERVICE_UNPAID)
_NO_NODE = code(PlacementReason.NO_FEASIBLE_NODE)
_NO_CANDIDATE = code(PlacementReason.NO_FEASIBLE_CANDIDATE)
_LOST = code(PlacementReason.LOST_CONFLICTS)


def pending_rows(snapshot: Snapshot) -> I64:
    """Rows of replicas waiting for a node."""
    return unassigned_rows(snapshot.replicas.node)


def place(
    snapshot: Snapshot,
    params: PolicyParams,
    now_s: float,
    rng: np.random.Generator,
    *,
    mode: Literal["exact", "sampled"] | None = None,
    replicas: I32 | I64 | None = None,
    donate: bool = False,
) -> tuple[PlacementPlan, Snapshot]:
    """Place the pending ones of ``replicas`` (default: all pending); unpaid services wait.

    Returns the plan (rows in the order placed) and the snapshot with the placements applied.
    """
    rows = pending_rows(snapshot) if replicas is None else np.asarray(replicas, dtype=np.int64)
    mode = mode or params.placement.mode
    names, weights, scorers, filters = _plugins(
        tuple(params.placement.scorers.items()), params.placement.filters
    )
    nodes, reps = snapshot.nodes, snapshot.replicas
    # Only pending replicas can be placed (assigned ones are left where they are); the services
    # are gathered once (payment, context, rounds), and unpaid services wait.
    todo, todo_svc, skipped = pending_paid_rows(
        rows, reps.node, reps.service, snapshot.services.payment, PaymentStatus.PAID
    )
    if todo.size == 0:  # nothing to place: no copies, no O(n) work
        empty = new_decisions(0, len(names))
        return _plan(params, skipped, todo, empty, mode, names), snapshot
    used = nodes.used if donate else nodes.used.copy()
    held = nodes.replicas_held if donate else nodes.replicas_held.copy()
    ctx = build_context(snapshot, params, now_s, todo, used, held, row_services=todo_svc)
    if mode == "exact":
        decisions = place_exact(ctx, todo, filters, scorers, weights)
    else:
        decisions = place_sampled(ctx, todo, filters, scorers, weights, rng, row_services=todo_svc)
    plan = _plan(params, skipped, todo, decisions, mode, names)
    node_col = reps.node if donate else reps.node.copy()
    started = reps.started_at_s if donate else reps.started_at_s.copy()
    apply_placements_jit(todo, decisions.node, float(now_s), node_col, started)
    if donate:  # every column was written in place: the input snapshot is the result
        return plan, snapshot
    new = dataclasses.replace(
        snapshot,
        nodes=dataclasses.replace(nodes, used=used, replicas_held=held),
        replicas=dataclasses.replace(reps, node=node_col, started_at_s=started),
    )
    return plan, new


@functools.cache
def _plugins(
    weighted: tuple[tuple[str, float], ...], filter_names: tuple[str, ...]
) -> tuple[tuple[str, ...], F64, tuple[Scorer, ...], tuple[Filter, ...]]:
    """Scorer names, weights (read only) and plugins, filter plugins: fixed per parameters."""
    names = tuple(n for n, _ in weighted)
    weights: F64 = np.array([w for _, w in weighted], dtype=float)
    weights.setflags(write=False)
    return names, weights, registry.scorers(names), registry.filters(filter_names)


@functools.cache
def _filter_codes(filters: tuple[str, ...]) -> I8:
    """Per filter position its reason code, -1 last (for "no filter"): fixed per filter list."""
    codes = [FILTER_REASONS.index(registry.filters((f,))[0].reason) for f in filters]
    out: I8 = np.array([*codes, -1], dtype=np.int8)
    out.setflags(write=False)
    return out


def _plan_codes_loop(node: I32, failing_filter: I8, filter_codes: I8, unplaced: int, reason: I8,
                     failing: I8) -> None:  # fmt: skip
    """Per decision its reason code and the reason code of the filter that failed it (-1: none).

    Placed, else lost to conflicts when no filter failed it, else ``unplaced``; the filter code
    only for unplaced rows a filter rejected.
    """
    for i in range(node.shape[0]):
        f = failing_filter[i]
        if node[i] >= 0:
            reason[i] = _PLACED
            failing[i] = -1
        elif f < 0:
            reason[i] = _LOST
            failing[i] = -1
        else:
            reason[i] = unplaced
            failing[i] = filter_codes[f]


plan_codes_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_plan_codes_loop)


def _apply_placements_loop(rows: I64, node: I32, now_s: float, node_col: I32,
                           started: F64) -> None:  # fmt: skip
    """``node_col[rows[i]] = node[i]`` and ``started[rows[i]] = now_s`` where ``node[i] >= 0``.

    The rows are scattered over the replica table: theirs are asked for ``_AHEAD`` rows on.
    """
    count = rows.shape[0]
    for i in range(count):
        if i + _AHEAD < count:
            prefetch_read(node_col, rows[i + _AHEAD])
            prefetch_read(started, rows[i + _AHEAD])
        if node[i] >= 0:
            node_col[rows[i]] = node[i]
            started[rows[i]] = now_s


#: Rows between the prefetch of a placed replica's entries and their writes.
_AHEAD = 16
apply_placements_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(
    _apply_placements_loop
)


def _plan(
    params: PolicyParams,
    skipped: I64,
    todo: I64,
    decisions: Decisions,
    mode: str,
    names: tuple[str, ...],
) -> PlacementPlan:
    """Assemble the plan: unpaid rows (``skipped``) first, then the placed/unplaceable rows."""
    count = todo.shape[0]
    reason = np.empty(count, dtype=np.int8)
    failing = np.empty(count, dtype=np.int8)
    unplaced = _NO_NODE if mode == "exact" else _NO_CANDIDATE
    filter_codes = _filter_codes(params.placement.filters)
    plan_codes_jit(
        decisions.node, decisions.failing_filter, filter_codes, unplaced, reason, failing
    )
    if skipped.shape[0] == 0:  # the usual case: the decision columns are the plan's, no copies
        return PlacementPlan(
            replica=todo.astype(np.int32),
            node=decisions.node,
            reason=reason,
            score=decisions.score,
            factor_names=names,
            factor_scores=decisions.factors,
            failing_filter=failing,
        )
    all_rows = np.concatenate([skipped, todo]).astype(np.int32)
    reason = np.concatenate([np.full(skipped.shape[0], _UNPAID, dtype=np.int8), reason])
    node = np.concatenate([np.full(skipped.shape[0], -1, dtype=np.int32), decisions.node])
    factors = np.concatenate(
        [np.full((skipped.shape[0], len(names)), np.nan, dtype=np.float32), decisions.factors]
    )
    return PlacementPlan(
        replica=all_rows,
        node=node,
        reason=reason,
        score=np.concatenate([np.full(skipped.shape[0], np.nan), decisions.score]),
        factor_names=names,
        factor_scores=factors,
        failing_filter=np.concatenate([np.full(skipped.shape[0], -1, dtype=np.int8), failing]),
    )
