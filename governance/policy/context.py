"""Working state of one placement call and the plugin protocols filters and scorers implement.

Every plugin has a vector form over a (B, k) block of candidate node rows for B replicas (sampled
mode,
"why not" queries) and a scalar form for one (replica, node) pair (exact mode's index walk). Both
read
the same `PlacementContext`, so the two modes apply the same rules; a test checks they agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from governance.policy.pairs import PairCounts
from governance.policy.reasons import FilterReason
from governance.policy.types import (
    F32,
    F64,
    I32,
    I64,
    Bool,
    NodeTable,
    ReplicaTable,
    ServiceTable,
    Tier,
)

if TYPE_CHECKING:
    from governance.policy.params import PolicyParams


@dataclass(slots=True)
class PlacementContext:
    """Mutable working state of one placement call (``used``/``held`` are the call's own arrays)."""

    nodes: NodeTable
    services: ServiceTable
    replicas: ReplicaTable
    params: PolicyParams
    now_s: float
    used: F32  # (n, R), updated as replicas are committed
    held: I32  # replicas per node, updated as replicas are committed
    pairs: PairCounts  # replicas per (service, domain), updated as replicas are committed
    locality: PairCounts  # (service, domain) -> dependencies of service present in domain
    n_deps: I32  # per service row
    spread_active: Bool  # per service: enough domains exist
    max_demand: F32  # (R,) largest demand among the replicas being placed
    locality_domains: dict[int, list[int]]  # service row -> domains where its locality is > 0

    _domain_order: I64 | None = None
    _domain_ptr: I64 | None = None

    def domain_members(self, domain: int) -> I64:
        """Node rows of one failure domain, ascending (index built on first use)."""
        if self._domain_order is None or self._domain_ptr is None:
            self._domain_order = np.argsort(self.nodes.failure_domain, kind="stable")
            self._domain_ptr = np.searchsorted(
                self.nodes.failure_domain[self._domain_order],
                np.arange(self.pairs.n_domains + 1),
            )
        lo, hi = int(self._domain_ptr[domain]), int(self._domain_ptr[domain + 1])
        return self._domain_order[lo:hi]

    def capacity_limit(self, nodes: I32 | I64) -> F32:
        """Capacity a node may hand out: newcomers only their quota fraction."""
        cap = self.nodes.capacity[nodes]
        newcomer = self.nodes.tier[nodes] == Tier.NEWCOMER
        if not self.params.reputation.enabled:
            return cap
        frac = np.float32(self.params.tiers.newcomer_capacity_fraction)
        return np.where(newcomer[..., None], cap * frac, cap)

    def capacity_limit_one(self, node: int) -> list[float]:
        """Scalar `capacity_limit`."""
        cap = self.nodes.capacity[node]
        if self.params.reputation.enabled and int(self.nodes.tier[node]) == Tier.NEWCOMER:
            scaled: list[float] = (
                cap * np.float32(self.params.tiers.newcomer_capacity_fraction)
            ).tolist()
            return scaled
        out: list[float] = cap.tolist()
        return out


class Filter(Protocol):
    """A placement filter: which candidate nodes a replica may go to."""

    name: str
    reason: FilterReason

    def mask(self, ctx: PlacementContext, nodes: I32, reps: I32) -> Bool:
        """Bool (B, k): True where node ``nodes[b, j]`` may take replica ``reps[b]``."""
        ...

    def ok(self, ctx: PlacementContext, node: int, rep: int) -> bool:
        """Scalar `mask`."""
        ...


class Scorer(Protocol):
    """A weighted scorer returning a factor in [0, 1] (higher is better)."""

    name: str
    node_only: bool  # depends on the node's state alone (exact mode folds it into its index key)

    def score(self, ctx: PlacementContext, nodes: I32, reps: I32) -> F64:
        """Float64 (B, k) factor values."""
        ...

    def score_one(self, ctx: PlacementContext, node: int, rep: int) -> float:
        """Scalar `score`."""
        ...

    def bound(self, ctx: PlacementContext, nodes: I64) -> F64:
        """Upper bound of the factor at each node over every replica, outside special domains."""
        ...

    def bound_one(self, ctx: PlacementContext, node: int) -> float:
        """Scalar `bound`."""
        ...

    def special_domains(self, ctx: PlacementContext, rep: int) -> list[int]:
        """Failure domains where the factor may exceed `bound` for replica ``rep``."""
        ...
