"""Why not node X: each filter's verdict on a (replica, node) pair and the score gap to the best."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from governance.policy import registry
from governance.policy.exact import place_exact
from governance.policy.prepare import build_context
from governance.policy.results import FilterVerdict, PlacementExplanation
from governance.policy.types import Snapshot

if TYPE_CHECKING:
    from governance.policy.params import PolicyParams


def explain_placement(
    snapshot: Snapshot, params: PolicyParams, now_s: float, replica: int, node: int
) -> PlacementExplanation:
    """Explain whether ``replica`` could go to ``node`` now, and its gap to the best node."""
    names = tuple(params.placement.scorers)
    weights = np.array([params.placement.scorers[n] for n in names], dtype=float)
    scorers = registry.scorers(names)
    filters = registry.filters(params.placement.filters)
    rows = np.array([replica], dtype=np.int64)
    nodes = snapshot.nodes
    ctx = build_context(
        snapshot, params, now_s, rows, nodes.used.copy(), nodes.replicas_held.copy()
    )
    cand = np.array([[node]], dtype=np.int32)
    reps = rows.astype(np.int32)
    verdicts = tuple(
        FilterVerdict(f.name, bool(f.mask(ctx, cand, reps)[0, 0]), f.reason) for f in filters
    )
    factors = {s.name: float(s.score(ctx, cand, reps)[0, 0]) for s in scorers}
    score = float(sum(w * factors[n] for n, w in zip(names, weights.tolist(), strict=True)))
    best = place_exact(ctx, rows, filters, scorers, weights)
    best_node, best_score = int(best.node[0]), float(best.score[0])
    return PlacementExplanation(
        replica=replica,
        node=node,
        feasible=all(v.passed for v in verdicts),
        verdicts=verdicts,
        score=score,
        factors=factors,
        best_node=best_node,
        best_score=best_score if best_node >= 0 else float("nan"),
        score_gap=best_score - score if best_node >= 0 else float("nan"),
    )
