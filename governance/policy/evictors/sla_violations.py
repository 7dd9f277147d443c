"""Eviction: replicas with repeated SLA violations (a driver input per replica)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from governance.policy.evictors.common import not_scheduled
from governance.policy.reasons import EvictionReason
from governance.policy.scans import assigned_at_least
from governance.policy.types import I64, Snapshot

if TYPE_CHECKING:
    from governance.policy.params import PolicyParams


class SlaViolations:
    """``sla_violations >= eviction.sla_violation_limit`` moves the replica elsewhere."""

    name = "sla_violations"
    reason = EvictionReason.SLA_VIOLATIONS
    bypass_budgets = False

    def propose(self, snapshot: Snapshot, params: PolicyParams, now_s: float) -> I64:
        reps = snapshot.replicas
        rows = assigned_at_least(
            reps.sla_violations, params.eviction.sla_violation_limit, reps.node
        )
        return not_scheduled(snapshot, rows)


PLUGIN = SlaViolations()
