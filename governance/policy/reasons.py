"""Machine-readable reasons carried by every decision (StrEnum; columns store their int code)."""

from __future__ import annotations

import functools
from enum import StrEnum


class PlacementReason(StrEnum):
    """Why a pending replica ended where it did (or nowhere)."""

    PLACED_BEST_SCORE = "placed_best_score"
    NO_FEASIBLE_NODE = "no_feasible_node"
    NO_FEASIBLE_CANDIDATE = "no_feasible_candidate"  # sampled mode: all sampled candidates failed
    LOST_CONFLICTS = "lost_conflicts"  # sampled mode: feasible picks lost to earlier rows; retried
    SERVICE_HELD = "service_held"  # anti-flapping hold or unpaid service: not placed this cycle
    SERVICE_UNPAID = "service_unpaid"


class FilterReason(StrEnum):
    """The filter that rejected a node for a replica ("why not node X")."""

    INSUFFICIENT_CAPACITY = "insufficient_capacity"
    TIER_NOT_ALLOWED = "tier_not_allowed"
    NEWCOMER_QUOTA = "newcomer_quota"
    REGION_MISMATCH = "region_mismatch"
    SAME_FAILURE_DOMAIN = "same_failure_domain"
    NODE_UNAVAILABLE = "node_unavailable"  # dead, unhealthy or draining
    EVICTION_COOLDOWN = "eviction_cooldown"


class EvictionReason(StrEnum):
    """Why an eviction was proposed (one eviction plugin each)."""

    NODE_DEAD = "node_dead"
    REPUTATION_BELOW_FLOOR = "reputation_below_floor"
    NODE_OVERLOADED = "node_overloaded"
    SERVICE_UNPAID = "service_unpaid"
    SLA_VIOLATIONS = "sla_violations"
    NODE_UNDERUSED = "node_underused"


class EvictionOutcome(StrEnum):
    """What happened to a proposed eviction this cycle."""

    SCHEDULED = "scheduled"  # deadline set (now + notice window)
    EXECUTED = "executed"  # deadline reached (or dead node): the replica was unassigned
    DRY_RUN = "dry_run"  # would have been scheduled; state untouched
    REFUSED_NODE_BUDGET = "refused_node_budget"
    REFUSED_OWNER_BUDGET = "refused_owner_budget"
    REFUSED_TOTAL_BUDGET = "refused_total_budget"
    HELD_FLAPPING = "held_flapping"  # the service was evicted too often in the window


PLACEMENT_REASONS: tuple[PlacementReason, ...] = tuple(PlacementReason)
FILTER_REASONS: tuple[FilterReason, ...] = tuple(FilterReason)
EVICTION_REASONS: tuple[EvictionReason, ...] = tuple(EvictionReason)
EVICTION_OUTCOMES: tuple[EvictionOutcome, ...] = tuple(EvictionOutcome)


def code(member: StrEnum) -> int:
    """Return the int8 column code of a reason (its position in its enum)."""
    return _codes(type(member))[member]


@functools.cache
def _codes(kind: type[StrEnum]) -> dict[StrEnum, int]:
    """Each member's position in its enum (a list scan per call costs ~5 us in a small cycle)."""
    return {member: i for i, member in enumerate(kind)}
