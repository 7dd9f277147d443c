"""Decision and plan types returned by the policy core (columnar, with reasons and scores)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from governance.policy.reasons import (
    EVICTION_OUTCOMES,
    EVICTION_REASONS,
    FILTER_REASONS,
    PLACEMENT_REASONS,
    EvictionOutcome,
    EvictionReason,
    FilterReason,
    PlacementReason,
)
from governance.policy.types import (
    F32,
    F64,
    I8,
    I32,
    I64,
    Bool,
    ReplicaTable,
    Snapshot,
    SnapshotError,
)


@dataclass(frozen=True, slots=True)
class PlacementDecision:
    """One placement decision as a record (for services, logs and the demo)."""

    replica: int
    node: int  # -1: unplaceable
    reason: PlacementReason
    score: float
    factors: dict[str, float]
    failing_filter: FilterReason | None  # the filter that rejected most candidates, if unplaceable


@dataclass(frozen=True, slots=True)
class PlacementPlan:
    """Placement decisions as columns; ``factor_scores[i, j]`` is ``factor_names[j]``, in [0, 1]."""

    replica: I32
    node: I32
    reason: I8
    score: F64
    factor_names: tuple[str, ...]
    factor_scores: F32
    failing_filter: I8  # FilterReason code or -1

    def __len__(self) -> int:
        return int(self.replica.shape[0])

    @property
    def placed(self) -> int:
        return int(np.count_nonzero(self.node >= 0))

    def records(self) -> Iterator[PlacementDecision]:
        """Yield the decisions as records (slow; for humans and small plans)."""
        for i in range(len(self)):
            ff = int(self.failing_filter[i])
            yield PlacementDecision(
                replica=int(self.replica[i]),
                node=int(self.node[i]),
                reason=PLACEMENT_REASONS[int(self.reason[i])],
                score=float(self.score[i]),
                factors={
                    n: float(self.factor_scores[i, j]) for j, n in enumerate(self.factor_names)
                },
                failing_filter=FILTER_REASONS[ff] if ff >= 0 else None,
            )


@dataclass(frozen=True, slots=True)
class EvictionDecision:
    """One proposed eviction as a record."""

    replica: int
    node: int
    reason: EvictionReason
    outcome: EvictionOutcome
    deadline_s: float


@dataclass(frozen=True, slots=True)
class EvictionPlan:
    """Proposed evictions with their outcome: scheduled, executed, dry-run, refused or held."""

    replica: I32
    node: I32
    reason: I8
    outcome: I8
    deadline_s: F64

    def __len__(self) -> int:
        return int(self.replica.shape[0])

    def count(self, outcome: EvictionOutcome) -> int:
        """Number of rows with ``outcome``."""
        return int(np.count_nonzero(self.outcome == EVICTION_OUTCOMES.index(outcome)))

    def records(self) -> Iterator[EvictionDecision]:
        """Yield the evictions as records (slow; for humans and small plans)."""
        for i in range(len(self)):
            yield EvictionDecision(
                replica=int(self.replica[i]),
                node=int(self.node[i]),
                reason=EVICTION_REASONS[int(self.reason[i])],
                outcome=EVICTION_OUTCOMES[int(self.outcome[i])],
                deadline_s=float(self.deadline_s[i]),
            )


@dataclass(frozen=True, slots=True)
class ReputationUpdate:
    """New scores and tiers, plus which nodes were caught lying this cycle."""

    reputation: F32
    tier: I8
    lying: Bool


@dataclass(frozen=True, slots=True)
class CyclePlan:
    """Everything one cycle decided, in order: reputation, evictions, placements."""

    params_version: str
    now_s: float
    dry_run: bool
    reputation: ReputationUpdate
    evictions: EvictionPlan
    placements: PlacementPlan


@dataclass(frozen=True, slots=True)
class ReplicaJournal:
    """Replica columns as they were before a cycle, at the rows its eviction plan names.

    A caller that donated its snapshot (``run_cycle(..., donate=True)``) no longer has those
    values; with them it can still put a refused eviction back, as an actuator does.
    """

    rows: I64  # ascending, distinct
    node: I32
    evict_at_s: F64
    evict_reason: I8
    last_evicted_node: I32
    last_evicted_at_s: F64
    evictions: I32

    def restore(self, replicas: ReplicaTable, rows: I64) -> None:
        """Write the journaled values of ``rows`` (each one of ``self.rows``) into ``replicas``."""
        at = np.searchsorted(self.rows, rows)
        if rows.size and not np.array_equal(self.rows[np.minimum(at, self.rows.size - 1)], rows):
            raise SnapshotError("rows outside the journal")
        for name in JOURNALED_COLUMNS:
            getattr(replicas, name)[rows] = getattr(self, name)[at]


#: The replica columns an eviction plan writes (what a refused eviction must get back).
JOURNALED_COLUMNS = (
    "node",
    "evict_at_s",
    "evict_reason",
    "last_evicted_node",
    "last_evicted_at_s",
    "evictions",
)


def journal(replicas: ReplicaTable, rows: I32 | I64) -> ReplicaJournal:
    """Record the journaled replica columns at ``rows`` (duplicates are recorded once)."""
    # np.unique's fixed cost is most of a small cycle's journal: no call for 0 or 1 rows.
    unique = (np.unique(rows) if rows.shape[0] > 1 else rows).astype(np.int64)
    values = {name: getattr(replicas, name)[unique] for name in JOURNALED_COLUMNS}
    return ReplicaJournal(rows=unique, **values)


@dataclass(frozen=True, slots=True)
class CycleResult:
    """The plan and the snapshot after applying it (the input snapshot itself when dry-run).

    ``journal`` is set when the input was donated: the replica values the plan overwrote.
    """

    plan: CyclePlan
    snapshot: Snapshot
    journal: ReplicaJournal | None = None


@dataclass(frozen=True, slots=True)
class FilterVerdict:
    """One filter's verdict on a (replica, node) pair."""

    filter_name: str
    passed: bool
    reason: FilterReason


@dataclass(frozen=True, slots=True)
class PlacementExplanation:
    """Answer to "why not node X for replica r?": failing filters and the score gap to the best."""

    replica: int
    node: int
    feasible: bool
    verdicts: tuple[FilterVerdict, ...]
    score: float
    factors: dict[str, float]
    best_node: int  # the exact-greedy choice for this replica now (-1 if none)
    best_score: float
    score_gap: float  # best_score - score (>= 0 when feasible)

    @property
    def failing(self) -> tuple[FilterVerdict, ...]:
        return tuple(v for v in self.verdicts if not v.passed)


_T = TypeVar("_T")


def replace_fields(record: _T, **changes: Any) -> _T:
    """``dataclasses.replace`` for the core's frozen tables, without its per-call field walk.

    A small network's cycle rebuilds its tables a few times; ``replace`` costs ~3 us a call
    (it walks the fields and checks ``init`` flags), this ~1 us. No ``__post_init__`` runs
    either way (the tables define none).
    """
    kind: Any = type(record)
    names = _field_names(kind)
    out: _T = kind(*[changes[n] if n in changes else getattr(record, n) for n in names])
    return out


@functools.cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(kind))
