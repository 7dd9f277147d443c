"""Scorer: prefer failure domains where the services this one depends on already run."""

from __future__ import annotations

import numpy as np

from governance.policy.context import PlacementContext
from governance.policy.types import F64, I32, I64


class Locality:
    """factor = share of the service's dependencies with a replica in the node's domain.

    Computed from placements as they stood at the start of the call.
    """

    name = "locality"
    node_only = False
    prefers_full = False  # its key rises as a node fills up

    def score(self, ctx: PlacementContext, nodes: I32, reps: I32) -> F64:
        svc = ctx.replicas.service[reps]
        out: F64 = np.zeros(nodes.shape, dtype=float)
        deps = ctx.dependency_counts(svc)
        has = np.flatnonzero(deps > 0)  # no dependencies: factor 0, no lookup
        if has.size == 0 or ctx.locality.empty:
            return out
        if nodes.ndim == 2:  # one compiled pass, no (B, k) key temporaries
            found = ctx.locality.count_pairs(svc[has], ctx.nodes.failure_domain, nodes[has])
        else:
            keys = ctx.locality.key(svc[has][:, None], ctx.nodes.failure_domain[nodes[has]])
            found = ctx.locality.lookup(keys)
        out[has] = found / deps[has].astype(float)[:, None]
        return out

    def score_one(self, ctx: PlacementContext, node: int, rep: int) -> float:
        svc = ctx.replicas.service.item(rep)
        indptr = ctx.services.dep_indptr  # Python ints: the scalar path of exact mode
        deps = indptr.item(svc + 1) - indptr.item(svc)
        if not deps:  # no dependencies: no locality entries, factor 0
            return 0.0
        count = ctx.locality.get(svc * ctx.locality.n_domains + ctx.nodes.failure_domain.item(node))
        out: float = count / deps
        return out

    def bound(self, ctx: PlacementContext, nodes: I64) -> F64:
        # Zero outside the special domains, which exact mode searches separately.
        return np.zeros(nodes.shape, dtype=float)

    def bound_one(self, ctx: PlacementContext, node: int) -> float:
        return 0.0

    def special_domains(self, ctx: PlacementContext, rep: int) -> list[int]:
        svc = ctx.replicas.service.item(rep)
        indptr = ctx.services.dep_indptr
        if indptr.item(svc + 1) == indptr.item(svc):  # no dependencies: the factor is 0 everywhere
            return []
        return ctx.locality.domains_of(svc)


PLUGIN = Locality()
