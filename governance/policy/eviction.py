"""Eviction planning: plugins propose; anti-flapping holds, budgets refuse, notice delays.

Order of a plan: candidates from every enabled plugin (one per replica, the most severe reason
wins),
sorted by severity, then lowest criticality, then replica row. Dead-node evictions bypass budgets
and
the notice window (the replica is already down). Others: a service evicted ``flap_max_evictions``
times
in the current window is held; then the per-node, per-owner and total budgets are applied greedily
in
that order; accepted evictions get a deadline ``now + notice_s``. Due deadlines are executed by
`apply_evictions`. In dry-run nothing is scheduled or executed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from governance.policy.results import EvictionPlan
from governance.policy.types import Snapshot

if TYPE_CHECKING:
    from governance.policy.params import PolicyParams


def plan_evictions(snapshot: Snapshot, params: PolicyParams, now_s: float) -> EvictionPlan:
    """Plan this cycle's evictions (new proposals and due deadlines), with outcomes and reasons."""
    raise NotImplementedError


def apply_evictions(
    snapshot: Snapshot,
    plan: EvictionPlan,
    params: PolicyParams,
    now_s: float,
    *,
    donate: bool = False,
) -> Snapshot:
    """Apply a plan: set deadlines, unassign executed replicas, update usage and flap history."""
    raise NotImplementedError
