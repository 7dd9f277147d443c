"""Eviction planning: plugins propose; anti-flapping holds, budgets refuse, notice delays.

Order of a plan: candidates from every enabled plugin (one per replica, the most severe reason
wins), sorted by severity, then lowest criticality, then replica row. Dead-node evictions bypass
budgets and the notice window (the replica is already down). Others: a service evicted
``flap_max_evictions`` times in the current window is held; then the per-node, per-owner and total
budgets are applied greedily in that order; accepted evictions get a deadline ``now + notice_s``.
At most ``64 * budget_total`` proposals are examined one by one; the rest are refused as over the
total budget (or held) in one vectorised step, so a cycle with millions of proposals stays cheap.
Due deadlines are executed by `apply_evictions`. In dry-run nothing is scheduled or executed.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeGuard

import numpy as np

from governance.policy import registry
from governance.policy.eviction_kernels import count_flaps_loop, execute_loop
from governance.policy.eviction_plugins import Evictor, NodeEvictor
from governance.policy.evictors.common import replicas_on_each, rows_on_flags
from governance.policy.evictors.flag_scan import flagged_rows
from governance.policy.evictors.kernels import flag_bits
from governance.policy.evictors.node_flags import flag_nodes
from governance.policy.reasons import EVICTION_REASONS, EvictionOutcome, code
from governance.policy.registry import EVICTOR_NAMES
from governance.policy.results import EvictionPlan, replace_fields
from governance.policy.scans import due_rows
from governance.policy.types import I8, I64, Snapshot

if TYPE_CHECKING:
    from governance.policy.params import PolicyParams

_SCHEDULED = code(EvictionOutcome.SCHEDULED)
_EXECUTED = code(EvictionOutcome.EXECUTED)
EXECUTED = _EXECUTED  # the outcome code of an eviction executed now
_DRY_RUN = code(EvictionOutcome.DRY_RUN)
_NODE_BUDGET = code(EvictionOutcome.REFUSED_NODE_BUDGET)
_OWNER_BUDGET = code(EvictionOutcome.REFUSED_OWNER_BUDGET)
_TOTAL_BUDGET = code(EvictionOutcome.REFUSED_TOTAL_BUDGET)
_HELD = code(EvictionOutcome.HELD_FLAPPING)


def plan_evictions(
    snapshot: Snapshot, params: PolicyParams, now_s: float, *, due: I64 | None = None
) -> EvictionPlan:
    """Plan this cycle's evictions (new proposals and due deadlines), with outcomes and reasons.

    ``due``: the snapshot's `due_rows`, if the caller already has them.
    """
    ep = params.eviction
    reps = snapshot.replicas
    rows, reason, bypass = _candidates(snapshot, params, now_s)
    if due is None:
        due = due_rows(reps.evict_at_s, reps.node, now_s)
    if rows.size == 0 and due.size == 0:  # a steady small network's usual cycle
        return EvictionPlan(
            replica=np.empty(0, dtype=np.int32),
            node=np.empty(0, dtype=reps.node.dtype),
            reason=np.empty(0, dtype=np.int8),
            outcome=np.empty(0, dtype=np.int8),
            deadline_s=np.empty(0, dtype=np.float64),
        )
    if due.size and bypass.any():
        due = due[~np.isin(due, rows[bypass])]
    outcome = np.full(rows.shape[0], _TOTAL_BUDGET, dtype=np.int8)
    outcome[bypass] = _EXECUTED
    rest = np.flatnonzero(~bypass)
    if rest.size:
        outcome[rest] = _apply_budgets(snapshot, params, now_s, rows[rest])
    deadline = np.full(rows.shape[0], now_s + ep.notice_s)
    deadline[bypass] = now_s
    accepted = outcome == _SCHEDULED
    if ep.notice_s <= 0:
        outcome[accepted] = _EXECUTED
    all_rows = np.concatenate([due, rows])
    all_outcome = np.concatenate([np.full(due.shape[0], _EXECUTED, dtype=np.int8), outcome])
    if ep.dry_run:
        all_outcome[(all_outcome == _EXECUTED) | (all_outcome == _SCHEDULED)] = _DRY_RUN
    return EvictionPlan(
        replica=all_rows.astype(np.int32),
        node=reps.node[all_rows],
        reason=np.concatenate([reps.evict_reason[due], reason]).astype(np.int8),
        outcome=all_outcome,
        deadline_s=np.concatenate([reps.evict_at_s[due], deadline]),
    )


def _candidates(
    snapshot: Snapshot, params: PolicyParams, now_s: float
) -> tuple[I64, I8, np.ndarray]:
    """One proposal per replica, the most severe reason (registry order) winning; sorted."""
    plugins, reason_codes, bypasses = _plugin_table(params.eviction.plugins)
    on_nodes = _on_flagged_nodes(snapshot, params, now_s, plugins)
    found_rows = [
        on_nodes[p.name] if p.name in on_nodes else p.propose(snapshot, params, now_s)
        for p in plugins
    ]
    counts = [rows.shape[0] for rows in found_rows]
    proposing = [i for i, c in enumerate(counts) if c]
    if not proposing:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int8), np.empty(0, dtype=bool)
    one = found_rows[proposing[0]]
    if len(proposing) == 1 and (one.shape[0] < 2 or bool((one[1:] > one[:-1]).all())):
        # One plugin's rows, distinct and ascending (as the built-ins give them): only
        # criticality sorts them, and no replica has a second proposal.
        i, rows = proposing[0], one
        crit = snapshot.services.criticality[snapshot.replicas.service[rows]]
        rows = rows[np.argsort(crit, kind="stable")]
        return (
            rows,
            np.full(rows.shape[0], reason_codes[i], dtype=np.int8),
            np.full(rows.shape[0], bypasses[i], dtype=bool),
        )
    rows = np.concatenate(found_rows)
    reason = np.repeat(reason_codes, counts)
    bypass = np.repeat(bypasses, counts)
    crit = snapshot.services.criticality[snapshot.replicas.service[rows]]
    order = np.lexsort((rows, crit, _SEVERITY[reason]))
    rows, reason, bypass = rows[order], reason[order], bypass[order]
    _, first = np.unique(rows, return_index=True)
    keep = np.sort(first)  # the first (most severe) proposal of each replica, order kept
    return rows[keep], reason[keep], bypass[keep]


@functools.lru_cache(maxsize=32)
def _plugin_table(names: tuple[str, ...]) -> tuple[tuple[Evictor, ...], I8, np.ndarray]:
    """The plugins of ``names`` with their reason codes and budget bypass (once per plugin list)."""
    plugins = registry.evictors(names)
    reasons = np.array([code(p.reason) for p in plugins], dtype=np.int8)
    bypasses = np.array([p.bypass_budgets for p in plugins], dtype=bool)
    reasons.flags.writeable = bypasses.flags.writeable = False
    return plugins, reasons, bypasses


_FLAGS_NODES: dict[type, bool] = {}  # per plugin class: a NodeEvictor?


def _flags_nodes(plugin: Evictor) -> TypeGuard[NodeEvictor]:
    """``isinstance(plugin, NodeEvictor)``, checked once per plugin class.

    The runtime protocol check costs ~10 us: a noticeable share of a small network's cycle.
    """
    kind = type(plugin)
    known = _FLAGS_NODES.get(kind)
    if known is None:
        known = _FLAGS_NODES[kind] = isinstance(plugin, NodeEvictor)
    return known


def _on_flagged_nodes(
    snapshot: Snapshot, params: PolicyParams, now_s: float, plugins: tuple[Evictor, ...]
) -> dict[str, I64]:
    """Proposals of the node-flagging plugins, their replicas found in one pass over replicas.

    The built-in plugins' node tests run fused, in one compiled call (`flagged_rows`); a plugin
    without a ``node_test`` contributes its own ``nodes`` mask to a flag byte (`flag_nodes`).
    """
    node_based = _node_based(plugins)
    if len(node_based) > 8:  # more than a flag byte holds: one mask per plugin
        masks = [p.nodes(snapshot, params, now_s) for p in node_based]
        rows = replicas_on_each(snapshot, masks)
    else:
        rows = _fused_rows(snapshot, params, now_s, node_based)
    # No rows, no proposal: a refinement picks among the rows it is given.
    return {
        p.name: p.refine(snapshot, params, now_s, r) if r.size else r
        for p, r in zip(node_based, rows, strict=True)
    }


@functools.lru_cache(maxsize=32)
def _node_based(plugins: tuple[Evictor, ...]) -> tuple[NodeEvictor, ...]:
    """The node-flagging plugins among ``plugins``, in order (once per plugin list)."""
    return tuple(p for p in plugins if _flags_nodes(p))


def _fused_rows(
    snapshot: Snapshot, params: PolicyParams, now_s: float, node_based: Sequence[NodeEvictor]
) -> list[I64]:
    """Per plugin (at most eight) the assigned replicas on the nodes it flags."""
    fused = [getattr(p, "node_test", None) for p in node_based]
    if all(f is not None for f in fused):  # the built-in plugins: one compiled call
        return flagged_rows(snapshot, params, now_s, [f(params) for f in fused])  # type: ignore[misc]
    flags = flag_nodes(snapshot, params, now_s, [None if f is None else f(params) for f in fused])
    code, bits, found = flags.code, flags.bits, flags.any
    masks = [
        p.nodes(snapshot, params, now_s) if f is None else None
        for p, f in zip(node_based, fused, strict=True)
    ]
    for bit, mask in enumerate(masks):
        if mask is not None and mask.any():  # a plugin with its own mask: its bit, by numpy
            code |= mask.view(np.uint8) << np.uint8(bit)
            found = True
    if not found:  # the common steady state: no pass over the replicas at all
        return [np.empty(0, dtype=np.int64) for _ in node_based]
    if any(mask is not None for mask in masks):  # the masks' nodes need their bits too
        bits = flag_bits(code)
    return rows_on_flags(snapshot, code, bits, len(node_based))


_NAME_OF = {
    code(registry_reason): name
    for name, registry_reason in zip(EVICTOR_NAMES, EVICTION_REASONS, strict=True)
}
# per reason code: its plugin's position in the registry (lower: more severe)
_SEVERITY = np.array([EVICTOR_NAMES.index(_NAME_OF[r]) for r in range(len(EVICTION_REASONS))])


def _apply_budgets(snapshot: Snapshot, params: PolicyParams, now_s: float, rows: I64) -> I8:
    """Greedy in proposal order: flap hold, then node, owner and total budgets."""
    ep = params.eviction
    out = np.full(rows.shape[0], _TOTAL_BUDGET, dtype=np.int8)
    hist = snapshot.history
    svc = snapshot.replicas.service[rows]
    window_open = now_s - hist.window_started_at_s[svc] < ep.flap_window_s
    flap_base = np.where(window_open, hist.evictions_in_window[svc], 0)
    budget_rows = min(rows.shape[0], ep.budget_total * 64)  # Python loop only near the front
    nodes = snapshot.replicas.node[rows[:budget_rows]].tolist()
    owners = snapshot.services.owner[svc[:budget_rows]].tolist()
    per_node: dict[int, int] = {}
    per_owner: dict[int, int] = {}
    per_service: dict[int, int] = {}
    total = 0
    svc_l, base_l = svc[:budget_rows].tolist(), flap_base[:budget_rows].tolist()
    i = 0
    while i < budget_rows and total < ep.budget_total:
        s = svc_l[i]
        node, owner = nodes[i], owners[i]
        if base_l[i] + per_service.get(s, 0) >= ep.flap_max_evictions:
            out[i] = _HELD
        elif per_node.get(node, 0) >= ep.budget_per_node:
            out[i] = _NODE_BUDGET
        elif per_owner.get(owner, 0) >= ep.budget_per_owner:
            out[i] = _OWNER_BUDGET
        else:
            out[i] = _SCHEDULED
            total += 1
            per_node[node] = per_node.get(node, 0) + 1
            per_owner[owner] = per_owner.get(owner, 0) + 1
            per_service[s] = per_service.get(s, 0) + 1
        i += 1
    if i < rows.shape[0]:  # total budget spent: the rest is refused (or held), vectorised
        rest_svc = svc[i:]
        counted = np.zeros(snapshot.services.size, dtype=np.int64)
        for s, c in per_service.items():
            counted[s] = c
        held = flap_base[i:] + counted[rest_svc] >= ep.flap_max_evictions
        out[i:] = np.where(held, _HELD, _TOTAL_BUDGET)
    return out


def apply_evictions(
    snapshot: Snapshot,
    plan: EvictionPlan,
    params: PolicyParams,
    now_s: float,
    *,
    donate: bool = False,
) -> Snapshot:
    """Apply a plan: set deadlines, unassign executed replicas, update usage and flap history.

    ``donate`` gives every input column to the call (it writes into them instead of copies).
    """
    if len(plan) == 0:
        return snapshot
    reps, nodes, hist = snapshot.replicas, snapshot.nodes, snapshot.history

    def col(a: np.ndarray) -> np.ndarray:
        return a if donate else a.copy()

    node, evict_at, evict_reason = col(reps.node), col(reps.evict_at_s), col(reps.evict_reason)
    last_node, last_at, count = (
        col(reps.last_evicted_node),
        col(reps.last_evicted_at_s),
        col(reps.evictions),
    )
    used, held = col(nodes.used), col(nodes.replicas_held)
    scheduled = plan.outcome == _SCHEDULED
    sched = plan.replica[scheduled]
    if sched.size:
        evict_at[sched] = plan.deadline_s[scheduled]
        evict_reason[sched] = plan.reason[scheduled]
    done = plan.replica[plan.outcome == _EXECUTED]
    unscheduled = np.empty(done.shape[0], dtype=done.dtype)
    found = execute_loop(
        done, node, evict_at, evict_reason, last_node, last_at, count, used, held,
        reps.service, snapshot.services.demand, float(now_s), unscheduled,
    )  # fmt: skip
    unscheduled = unscheduled[:found]
    # Flap history counts an eviction once: when scheduled, or when executed without notice.
    counted = np.concatenate([sched, unscheduled])
    window, in_window = _count_flaps(snapshot, params, now_s, counted, donate)
    return replace_fields(
        snapshot,
        nodes=replace_fields(nodes, used=used, replicas_held=held),
        replicas=replace_fields(
            reps,
            node=node,
            evict_at_s=evict_at,
            evict_reason=evict_reason,
            last_evicted_node=last_node,
            last_evicted_at_s=last_at,
            evictions=count,
        ),
        history=replace_fields(hist, window_started_at_s=window, evictions_in_window=in_window),
    )


def _count_flaps(
    snapshot: Snapshot,
    params: PolicyParams,
    now_s: float,
    rows: np.ndarray,
    donate: bool,
) -> tuple[np.ndarray, np.ndarray]:
    hist = snapshot.history
    window = hist.window_started_at_s if donate else hist.window_started_at_s.copy()
    count = hist.evictions_in_window if donate else hist.evictions_in_window.copy()
    service, flap_s = snapshot.replicas.service, float(params.eviction.flap_window_s)
    count_flaps_loop(service, rows, window, count, float(now_s), flap_s)
    return window, count
