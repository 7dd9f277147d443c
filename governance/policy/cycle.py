"""One policy cycle: reputation -> eviction plan (budgets, notice, anti-flapping) -> placement."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from governance.policy.eviction import EXECUTED, apply_evictions, plan_evictions
from governance.policy.placement import place
from governance.policy.reputation import update_reputation
from governance.policy.results import CyclePlan, CycleResult, journal, replace_fields
from governance.policy.scans import due_and_unassigned_rows, union_rows
from governance.policy.types import Snapshot

if TYPE_CHECKING:
    from governance.policy.params import PolicyParams


def run_cycle(
    snapshot: Snapshot,
    params: PolicyParams,
    now_s: float,
    rng: np.random.Generator,
    *,
    donate: bool = False,
) -> CycleResult:
    """Run one cycle; the same call serves the network service and both simulator engines.

    With ``params.eviction.dry_run`` the returned snapshot is the input one and the plan says what
    would have happened. With ``donate=True`` the core may write into the input arrays (saves copies
    at 1e7 nodes; the caller must not use the input snapshot afterwards, and the result's
    ``journal`` keeps the replica values the eviction plan overwrote).
    """
    # A donated snapshot's scores and tiers are overwritten, unless a dry run returns it as it was.
    in_place = donate and not params.eviction.dry_run
    rep = update_reputation(snapshot.nodes, snapshot.observations, params, now_s, donate=in_place)
    nodes = replace_fields(snapshot.nodes, reputation=rep.reputation, tier=rep.tier)
    rated = replace_fields(snapshot, nodes=nodes)
    # One pass over the replica table finds the due evictions and the waiting replicas; those
    # waiting after the evictions are these plus the evicted ones (the only rows unassigned).
    table = snapshot.replicas
    due, waiting = due_and_unassigned_rows(table.evict_at_s, table.node, now_s)
    evictions = plan_evictions(rated, params, now_s, due=due)
    if params.eviction.dry_run:
        # Placements as they would be made now; nothing is applied.
        placements, _ = place(rated, params, now_s, rng, replicas=waiting)
        after, kept = snapshot, None
    else:
        kept = journal(snapshot.replicas, evictions.replica) if donate else None
        evicted = apply_evictions(rated, evictions, params, now_s, donate=donate)
        # Applying evictions (without donation) already copied the node usage and the replica node
        # column: placement may write into those copies instead of copying them again.
        owned = donate or evicted is not rated
        if owned and not donate:
            reps = evicted.replicas
            started = reps.started_at_s.copy()  # the one column placement writes that is not a copy
            evicted = dataclasses.replace(
                evicted, replicas=dataclasses.replace(reps, started_at_s=started)
            )
        pending = union_rows(waiting, evictions.replica[evictions.outcome == EXECUTED])
        placements, after = place(evicted, params, now_s, rng, replicas=pending, donate=owned)
    plan = CyclePlan(
        params_version=params.version,
        now_s=now_s,
        dry_run=params.eviction.dry_run,
        reputation=rep,
        evictions=evictions,
        placements=placements,
    )
    return CycleResult(plan=plan, snapshot=after, journal=kept)
