"""Working state of one placement call and the plugin protocols filters and scorers implement.

Every plugin has a vector form over a (B, k) block of candidate node rows for B replicas (sampled
mode,
"why not" queries) and a scalar form for one (replica, node) pair (exact mode's index walk). Both
read
the same `PlacementContext`, so the two modes apply the same rules; a test checks they agree.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numba
import numpy as np

from governance.policy.pairs import PairCounts
from governance.policy.prefetch import prefetch_read
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

NODE_FIELDS = tuple(f.name for f in dataclasses.fields(NodeTable))

if TYPE_CHECKING:
    from governance.policy.params import PolicyParams


def _dependency_counts_loop(indptr: I64, services: I32 | I64, out: I64) -> None:
    """``out[i] = indptr[services[i] + 1] - indptr[services[i]]``, pointers asked ``_AHEAD`` on."""
    count = services.shape[0]
    for i in range(count):
        if i + _AHEAD < count:
            prefetch_read(indptr, services[i + _AHEAD])
        s = services[i]
        out[i] = indptr[s + 1] - indptr[s]


#: Rows between the prefetch of a service's CSR pointers and their use (scattered services).
_AHEAD = 16
dependency_counts_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(
    _dependency_counts_loop
)


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
    live_domains: int  # a service spreads when its desired replicas are at most this many

    rows: I64 | None = None  # global node rows of a subset context (None: the full table)
    limit: F32 | None = None  # precomputed `capacity_limit` per node row, if any
    _domain_order: I64 | None = None
    _domain_ptr: I64 | None = None
    _memo: tuple[I32, I32, I32] | None = None
    _services_of: tuple[I32, I32] | None = None
    _headroom: list[F32] | None = None

    def dependency_counts(self, services: I32 | I64) -> I64:
        """Dependencies of each service row (from the CSR pointers: no per-call O(m) column).

        ``indptr[services + 1] - indptr[services]`` in one prefetched pass (no temporaries).
        """
        out = np.empty(services.shape, dtype=np.int64)
        dependency_counts_jit(self.services.dep_indptr, services.reshape(-1), out.reshape(-1))
        return out

    def spreads(self, services: I32 | I64) -> Bool:
        """Whether each service's replicas go to distinct domains (enough live domains exist).

        Asked per row, not built for every service: an O(services) column per call for the
        few services being placed.
        """
        out: Bool = self.services.replicas[services] <= self.live_domains
        return out

    def global_rows(self, nodes: I32 | I64) -> I32 | I64:
        """Global node rows of ``nodes`` (identity unless this is a pool subset)."""
        return nodes if self.rows is None else self.rows[nodes]

    def global_row(self, node: int) -> int:
        """Scalar `global_rows`."""
        return node if self.rows is None else int(self.rows[node])

    def services_of(self, reps: I32) -> I32:
        """Service row of each replica of ``reps``; memoised for the last array asked about.

        A round asks for the same rows' services in several places (scorers, checks, commit):
        one gather of random rows of the replica table instead of one each.
        """
        memo = self._services_of
        if memo is not None and memo[0] is reps:
            return memo[1]
        svc: I32 = self.replicas.service[reps]
        self._services_of = (reps, svc)
        return svc

    def remember_services(self, reps: I32, svc: I32) -> None:
        """Memoise ``svc`` as `services_of` ``reps`` (the caller gathered them already)."""
        self._services_of = (reps, svc)

    def pair_counts(self, nodes: I32, reps: I32) -> I32:
        """Replicas of each replica's service in each candidate's domain, (B, k); memoised."""
        memo = self._memo
        if memo is not None and memo[0] is nodes and memo[1] is reps:
            return memo[2]
        svc = self.services_of(reps)
        if nodes.ndim == 2:
            counts = self.pairs.count_pairs(svc, self.nodes.failure_domain, nodes)
        else:
            counts = np.zeros(nodes.shape, dtype=np.int32)
            rows = np.flatnonzero(self.pairs.present(svc))  # services with no replica: all zero
            if rows.size:
                keys = self.pairs.key(svc[rows][:, None], self.nodes.failure_domain[nodes[rows]])
                counts[rows] = self.pairs.lookup(keys)
        self._memo = (nodes, reps, counts)
        return counts

    def memo_pair_counts(self, nodes: I32, reps: I32) -> I32 | None:
        """The memoised `pair_counts` of exactly these arrays, if it is still held."""
        memo = self._memo
        return memo[2] if memo is not None and memo[0] is nodes and memo[1] is reps else None

    def forget(self, *, keep_headroom: bool = False) -> None:
        """Drop memoised lookups (call after committing replicas)."""
        self._memo = None
        self._services_of = None
        if not keep_headroom:
            self._headroom = None

    def headroom_columns(self, *, refresh: bool = True) -> list[F32] | None:
        """Per resource, limit - used per node row (pool contexts only; memoised until commit).

        ``used + demand <= limit`` and ``limit - used >= demand`` agree because capacities and
        demands are whole numbers, exact in float32.
        """
        if self.limit is None:
            return None
        if self._headroom is None:
            if not refresh:
                return None
            room = self.limit - self.used
            self._headroom = [np.ascontiguousarray(room[:, r]) for r in range(room.shape[1])]
        return self._headroom

    def subset(self, pool: I64, *, with_limit: bool = True) -> PlacementContext:
        """A context over node rows ``pool`` only (copies of their columns; write back `used`)."""
        nodes = NodeTable(**{f: getattr(self.nodes, f)[pool] for f in NODE_FIELDS})
        sub = dataclasses.replace(
            self,
            nodes=nodes,
            used=self.used[pool],
            held=self.held[pool],
            rows=pool if self.rows is None else self.rows[pool],
            limit=None,
            _domain_order=None,
            _domain_ptr=None,
            _memo=None,
            _services_of=None,
            _headroom=None,
        )
        if with_limit:
            sub.limit = sub.capacity_limit(None)
        return sub

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

    def capacity_limit(self, nodes: I32 | I64 | None) -> F32:
        """Capacity a node may hand out: newcomers only their quota fraction (None: every node)."""
        if self.limit is not None:
            out: F32 = self.limit if nodes is None else self.limit[nodes]
            return out
        if nodes is None:  # a copy: scaled in place below
            cap = self.nodes.capacity.copy()
            tier = self.nodes.tier
        else:
            cap = np.take(self.nodes.capacity, nodes, axis=0)
            tier = self.nodes.tier[nodes]
        if not self.params.reputation.enabled:
            return cap
        newcomer = tier == Tier.NEWCOMER
        frac = np.float32(self.params.tiers.newcomer_capacity_fraction)
        np.multiply(cap, frac, out=cap, where=newcomer[..., None])
        return cap

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
    node_only: bool  # the verdict depends on the node's state alone

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
    prefers_full: bool  # its bound rises as a node fills (exact mode then drops full nodes early)

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
