"""Eviction: replicas of services whose payment lapsed or whose token expired (an input signal)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from governance.policy.evictors.common import not_scheduled
from governance.policy.reasons import EvictionReason
from governance.policy.types import I64, PaymentStatus, Snapshot

if TYPE_CHECKING:
    from governance.policy.params import PolicyParams


class ServiceUnpaid:
    """Every assigned replica of a service whose payment status is not PAID."""

    name = "service_unpaid"
    reason = EvictionReason.SERVICE_UNPAID
    bypass_budgets = False

    def propose(self, snapshot: Snapshot, params: PolicyParams, now_s: float) -> I64:
        unpaid = snapshot.services.payment != PaymentStatus.PAID
        if not unpaid.any():
            return np.empty(0, dtype=np.int64)
        reps = snapshot.replicas
        rows: I64 = np.flatnonzero(unpaid[reps.service] & (reps.node >= 0))
        return not_scheduled(snapshot, rows)


PLUGIN = ServiceUnpaid()
