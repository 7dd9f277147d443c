"""Scorer: prefer failure domains where the services this one depends on already run."""

from __future__ import annotations

import numba
import numpy as np

from governance.policy.context import PlacementContext
from governance.policy.types import F64, I32, I64


def _ratios_loop(found: I32, deps: I64, out: F64) -> None:
    """``out[b, j] = found[b, j] / deps[b]`` in float64, 0 where ``deps[b]`` is 0."""
    for b in range(found.shape[0]):
        for j in range(found.shape[1]):
            out[b, j] = found[b, j] / np.float64(deps[b]) if deps[b] > 0 else 0.0


ratios_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_ratios_loop)


class Locality:
    """factor = share of the service's dependencies with a replica in the node's domain.

    Computed from placements as they stood at the start of the call.
    """

    name = "locality"
    node_only = False
    prefers_full = False  # its key rises as a node fills up

    def score(self, ctx: PlacementContext, nodes: I32, reps: I32) -> F64:
        svc = ctx.services_of(reps)
        deps = ctx.dependency_counts(svc)
        if nodes.ndim == 2 and not ctx.locality.empty:
            # Compiled passes over every row, no gathers of the rows with dependencies: a row
            # without any has no keys in the table (found 0) and gets factor 0.
            found = ctx.locality.count_pairs(svc, ctx.nodes.failure_domain, nodes)
            block = np.empty(nodes.shape, dtype=np.float64)
            ratios_jit(found, deps, block)
            return block
        out: F64 = np.zeros(nodes.shape, dtype=float)
        has = np.flatnonzero(deps > 0)  # no dependencies: factor 0, no lookup
        if has.size == 0 or ctx.locality.empty:
            return out
        keys = ctx.locality.key(svc[has][:, None], ctx.nodes.failure_domain[nodes[has]])
        out[has] = ctx.locality.lookup(keys) / deps[has].astype(float)[:, None]
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
