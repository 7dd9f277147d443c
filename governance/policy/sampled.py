"""Sampled/batched placement: best of k candidates, optimistic batch commit, conflicts retried."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from governance.policy.context import Filter, PlacementContext, Scorer
from governance.policy.prepare import available_mask
from governance.policy.types import F32, F64, I8, I32, I64, Bool, Tier


@dataclass(slots=True)
class Decisions:
    """Per-row outputs of a placement call (aligned with the rows being placed)."""

    node: I32
    score: F64
    failing_filter: I8  # index into the call's filters, -1 if placed or not tried
    factors: F32  # (count, n_scorers) factor values of the chosen node at decision time


def new_decisions(count: int, n_scorers: int) -> Decisions:
    """All rows unplaced."""
    return Decisions(
        node=np.full(count, -1, dtype=np.int32),
        score=np.full(count, np.nan, dtype=np.float64),
        failing_filter=np.full(count, -1, dtype=np.int8),
        factors=np.full((count, n_scorers), np.nan, dtype=np.float32),
    )


def total_scores(
    ctx: PlacementContext, scorers: tuple[Scorer, ...], weights: F64, nodes: I32, reps: I32
) -> F64:
    """Weighted sum of every scorer's factor, (B, k)."""
    total = np.zeros(nodes.shape, dtype=float)
    for scorer, w in zip(scorers, weights.tolist(), strict=True):
        if w:
            total += w * scorer.score(ctx, nodes, reps)
    return total


def factor_matrix(ctx: PlacementContext, scorers: tuple[Scorer, ...], nodes: I32, reps: I32) -> F32:
    """(B, n_scorers) factor values of one node per replica."""
    out = np.empty((nodes.shape[0], len(scorers)), dtype=np.float32)
    for j, scorer in enumerate(scorers):
        out[:, j] = scorer.score(ctx, nodes[:, None], reps)[:, 0]
    return out


def node_keys(ctx: PlacementContext, scorers: tuple[Scorer, ...], weights: F64, nodes: I64) -> F64:
    """Upper bound of the score at ``nodes`` over every replica (outside special domains)."""
    key = np.zeros(nodes.shape, dtype=float)
    for scorer, w in zip(scorers, weights.tolist(), strict=True):
        if w:
            key += w * scorer.bound(ctx, nodes)
    return key


def place_sampled(
    ctx: PlacementContext,
    rows: I64,
    filters: tuple[Filter, ...],
    scorers: tuple[Scorer, ...],
    weights: F64,
    rng: np.random.Generator,
) -> Decisions:
    """Place ``rows`` batch by batch; see `governance.policy.placement`."""
    out = new_decisions(rows.shape[0], len(scorers))
    size = ctx.params.placement.batch_size
    for start in range(0, rows.shape[0], size):
        part = slice(start, start + size)
        _place_batch(ctx, rows[part], filters, scorers, weights, rng, out, part)
    return out


def _universe(
    ctx: PlacementContext, scorers: tuple[Scorer, ...], weights: F64, batch: int, grow: int
) -> I64 | None:
    """Candidate pool for a batch, or None for "all nodes" (small batches: no O(n) work)."""
    p = ctx.params.placement
    n = ctx.nodes.size
    if batch * p.sample_k * 4 < n:
        return None
    avail = np.flatnonzero(available_mask(ctx.nodes, ctx.params, ctx.now_s))
    pool = min(avail.shape[0], max(math.ceil(p.pool_factor * batch) << grow, 4 * p.sample_k))
    if pool >= avail.shape[0]:
        return avail
    keys = node_keys(ctx, scorers, weights, avail)
    top: I64 = avail[np.argpartition(-keys, pool - 1)[:pool]]
    return np.sort(top)


def _place_batch(
    ctx: PlacementContext,
    rows: I64,
    filters: tuple[Filter, ...],
    scorers: tuple[Scorer, ...],
    weights: F64,
    rng: np.random.Generator,
    out: Decisions,
    part: slice,
) -> None:
    k = ctx.params.placement.sample_k
    left = np.arange(rows.shape[0])
    base = part.start
    for rnd in range(ctx.params.placement.sample_rounds):
        if left.shape[0] == 0 or ctx.nodes.size == 0:
            return
        pool = _universe(ctx, scorers, weights, rows.shape[0], rnd)
        reps = rows[left].astype(np.int32)
        if pool is None:
            cand = rng.integers(0, ctx.nodes.size, size=(left.shape[0], k)).astype(np.int32)
        else:
            if pool.shape[0] == 0:
                return
            cand = pool[rng.integers(0, pool.shape[0], size=(left.shape[0], k))].astype(np.int32)
        ok, first_fail = _feasible(ctx, filters, cand, reps)
        total = total_scores(ctx, scorers, weights, cand, reps)
        total[~ok] = -np.inf
        pick = np.argmax(total, axis=1)
        idx = np.arange(left.shape[0])
        best = total[idx, pick]
        has = np.isfinite(best)
        out.failing_filter[base + left[~has]] = first_fail[~has]
        chosen = cand[idx, pick]
        won = np.zeros(left.shape[0], dtype=bool)
        won[has] = _resolve(ctx, reps[has], chosen[has])
        out.factors[base + left[won]] = factor_matrix(ctx, scorers, chosen[won], reps[won])
        _commit(ctx, reps[won], chosen[won])
        out.node[base + left[won]] = chosen[won]
        out.score[base + left[won]] = best[won]
        out.failing_filter[base + left[won]] = -1
        left = left[~won]


def _feasible(
    ctx: PlacementContext, filters: tuple[Filter, ...], cand: I32, reps: I32
) -> tuple[Bool, I8]:
    """Candidates passing every filter, and per row the filter that rejected most candidates."""
    ok = np.ones(cand.shape, dtype=bool)
    fails = np.zeros((cand.shape[0], max(len(filters), 1)), dtype=np.int32)
    for i, f in enumerate(filters):
        m = f.mask(ctx, cand, reps)
        fails[:, i] = np.count_nonzero(ok & ~m, axis=1)
        ok &= m
    first: I8 = np.argmax(fails, axis=1).astype(np.int8)
    return ok, first


def _resolve(ctx: PlacementContext, reps: I32, chosen: I32) -> Bool:
    """Which optimistic picks survive, in row order: capacity, newcomer quota, anti-affinity."""
    order = np.argsort(chosen, kind="stable")
    nodes = chosen[order]
    demand = ctx.services.demand[ctx.replicas.service[reps[order]]].astype(float)
    cum = np.cumsum(demand, axis=0)
    seg_start = np.r_[True, nodes[1:] != nodes[:-1]]
    starts = np.flatnonzero(seg_start)
    seg_id = np.cumsum(seg_start) - 1
    before = np.vstack([np.zeros((1, demand.shape[1])), cum])[starts][seg_id]
    within = cum - before  # cumulative demand on this node among earlier picks, this one included
    limit = ctx.capacity_limit(nodes).astype(float)
    fits = np.all(ctx.used[nodes].astype(float) + within <= limit, axis=1)
    rank = np.arange(nodes.shape[0]) - starts[seg_id]
    newcomer = ctx.nodes.tier[nodes] == Tier.NEWCOMER
    if ctx.params.reputation.enabled:
        quota = ctx.params.tiers.newcomer_max_replicas
        fits &= ~newcomer | (ctx.held[nodes] + rank < quota)
    ok = np.zeros(reps.shape[0], dtype=bool)
    ok[order] = fits
    # Two replicas of one spreading service may not land in one domain in the same batch.
    svc = ctx.replicas.service[reps]
    keys = ctx.pairs.key(svc, ctx.nodes.failure_domain[chosen])
    spread = ctx.spread_active[svc] & ok
    if spread.any():
        idx = np.flatnonzero(spread)
        _, first = np.unique(keys[idx], return_index=True)
        keep = np.zeros(idx.shape[0], dtype=bool)
        keep[first] = True
        ok[idx[~keep]] = False
    return ok


def _commit(ctx: PlacementContext, reps: I32, nodes: I32) -> None:
    """Apply accepted picks to the call's working state."""
    if reps.shape[0] == 0:
        return
    svc = ctx.replicas.service[reps]
    np.add.at(ctx.used, nodes, ctx.services.demand[svc])
    np.add.at(ctx.held, nodes, 1)
    ctx.pairs.add(ctx.pairs.key(svc, ctx.nodes.failure_domain[nodes]))
