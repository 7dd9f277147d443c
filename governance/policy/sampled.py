"""Sampled/batched placement: best of k candidates, optimistic batch commit, conflicts retried."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from governance.policy.commit import Scored, commit_round, resolve_picks
from governance.policy.context import Filter, PlacementContext, Scorer
from governance.policy.filters.fused import ANTI_AFFINITY, check_picks, fused_bits
from governance.policy.prepare import available_mask
from governance.policy.round_kernels import add_weighted_jit, best_of_rows_jit, gather_rows
from governance.policy.types import F32, F64, I8, I32, I64, Bool


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
    *,
    row_services: I32 | None = None,
) -> Decisions:
    """Place ``rows``; see `governance.policy.placement`.

    ``row_services``: the rows' services if the caller has them (else gathered per round).

    The candidate pool is chosen once per call (grown at most twice when replicas find nothing
    feasible in it; a small call's uniform draws fall back to a pool of available nodes the same
    way); batches and their rounds all sample from it.
    """
    out = new_decisions(rows.shape[0], len(scorers))
    left = np.arange(rows.shape[0])
    for grow in range(3):
        if left.shape[0] == 0 or ctx.nodes.size == 0:
            break
        pool, head = _universe(ctx, scorers, weights, left.shape[0], grow)
        if pool is not None and pool.shape[0] == 0:
            break
        # A pool of every available node needs no copy: draws map into it, and NodeLevel's
        # node-only filters already rule out the nodes outside it.
        whole = pool is not None and head == 0
        sub = ctx if pool is None or whole else ctx.subset(pool)
        if whole and ctx.limit is None:
            ctx.limit = ctx.capacity_limit(None)
            ctx.forget()
        level = None if pool is None else NodeLevel(sub, filters, scorers, weights)
        if level is not None:
            level.head = head
        draw = Draw(pool, pool.shape[0], whole) if pool is not None else Draw(None, 0, True)
        left = _place_in(
            sub, rows, left, filters, scorers, weights, rng, out, draw, level, row_services
        )
        if pool is not None and not whole:
            ctx.used[pool] = sub.used
            ctx.held[pool] = sub.held
            ctx.forget()
        if not np.any(out.failing_filter[left] >= 0):
            break  # only conflicts left: they were retried already
    return out


@dataclass(slots=True)
class Draw:
    """Where a round's candidates come from: ``size`` positions of ``pool`` (None: every node).

    ``global_`` says the round works on the full context (candidates are node rows, mapped
    through ``pool`` when one is given); otherwise on a pool subset (candidates are positions).
    """

    pool: I64 | None
    size: int
    global_: bool

    def candidates(self, rng: np.random.Generator, n_nodes: int, shape: tuple[int, int]) -> I32:
        """Uniform draws: node rows of the context the round works on."""
        if self.pool is None:
            return rng.integers(0, n_nodes, size=shape, dtype=np.int32)
        cand = rng.integers(0, self.size, size=shape, dtype=np.int32)
        if self.global_ and self.size != n_nodes:  # a pool of every node is the identity
            cand = self.pool[cand].astype(np.int32)
        return cand

    def node_rows(self, picks: I32) -> I32 | I64:
        """Global node rows of the context's ``picks``."""
        return picks if self.pool is None or self.global_ else self.pool[picks]


class NodeLevel:
    """Node-only filter verdicts and the node-only score part, per pool node, kept current."""

    def __init__(
        self,
        ctx: PlacementContext,
        filters: tuple[Filter, ...],
        scorers: tuple[Scorer, ...],
        weights: F64,
    ) -> None:
        self.ctx = ctx
        self.filters = [f for f in filters if f.node_only]
        self.scorers = [
            (s, w) for s, w in zip(scorers, weights.tolist(), strict=True) if s.node_only
        ]
        every = np.arange(ctx.nodes.size, dtype=np.int32)
        self.masks = {f.name: self._mask(f, every) for f in self.filters}
        self.factors = {s.name: self._factor(s, every) for s, _ in self.scorers}
        self.part = self._part(every)  # -inf where a node-only filter fails
        self.head = 0  # the pool's first `head` positions are its best nodes

    def _mask(self, f: Filter, nodes: I32) -> Bool:
        out: Bool = f.mask(self.ctx, nodes[None, :], np.zeros(1, dtype=np.int32))[0]
        return out

    def _factor(self, s: Scorer, nodes: I32) -> F64:
        if nodes.shape[0] == self.ctx.nodes.size and hasattr(s, "score_all"):
            every: F64 = s.score_all(self.ctx)  # no gather through an identity index
            return every
        dummy = np.zeros(1, dtype=np.int32)  # node-only plugins ignore the replica
        out: F64 = s.score(self.ctx, nodes[None, :], dummy)[0]
        return out

    def _part(self, nodes: I32) -> F64:
        part = np.zeros(nodes.shape[0], dtype=float)
        for s, w in self.scorers:
            if w:
                part += w * self.factors[s.name][nodes]
        for f in self.filters:
            part[~self.masks[f.name][nodes]] = -np.inf
        return part

    def refresh(self, touched: I32) -> None:
        """Recompute after replicas were committed to ``touched`` (distinct node rows)."""
        for f in self.filters:
            self.masks[f.name][touched] = self._mask(f, touched)
        for s, _ in self.scorers:
            self.factors[s.name][touched] = self._factor(s, touched)
        self.part[touched] = self._part(touched)


def _place_in(
    ctx: PlacementContext,
    rows: I64,
    left: I64,
    filters: tuple[Filter, ...],
    scorers: tuple[Scorer, ...],
    weights: F64,
    rng: np.random.Generator,
    out: Decisions,
    draw: Draw,
    level: NodeLevel | None,
    row_services: I32 | None = None,
) -> I64:
    """Batches of optimistic rounds within one node set; returns the slots still unplaced."""
    remaining = []
    size = ctx.params.placement.batch_size
    for start in range(0, left.shape[0], size):
        part = left[start : start + size]
        for _ in range(ctx.params.placement.sample_rounds):
            if part.shape[0] == 0:
                break
            reps = rows[part].astype(np.int32)
            if row_services is not None:  # no gather of random replica rows
                ctx.remember_services(reps, row_services[part])
            won, chosen = _round(ctx, reps, filters, scorers, weights, rng, out, part, level, draw)
            out.node[part[won]] = draw.node_rows(chosen[won])
            part = part[~won]
        remaining.append(part)
    return np.concatenate(remaining) if remaining else left


def _universe(
    ctx: PlacementContext, scorers: tuple[Scorer, ...], weights: F64, batch: int, grow: int
) -> tuple[I64 | None, int]:
    """Candidate pool (None: all nodes, for small calls: no O(n) work) and its head size h.

    The pool's first h positions hold the h best available nodes by key (in no particular
    order; O(n) selection, no sort): replica i's first candidate is head position i mod h.
    h = 0 when there is no head (the batch is as large as the network).
    """
    p = ctx.params.placement
    n = ctx.nodes.size
    if batch * p.sample_k * 4 < n and grow == 0:
        # Small call: uniform draws over every node row, no O(n) work. Rows that find nothing
        # (say most rows are unavailable) retry from a pool of available nodes (grow > 0).
        return None, 0
    avail = np.flatnonzero(available_mask(ctx.nodes, ctx.params, ctx.now_s))
    size = avail.shape[0]
    pool = min(size, max(math.ceil(p.pool_factor * batch) << grow, 4 * p.sample_k))
    head = min(batch, pool)
    if head >= size:
        return avail, 0  # every available node is needed: uniform draws only
    keys = node_keys(ctx, scorers, weights, avail)
    kth = [head - 1] if pool in (head, size) else [head - 1, pool - 1]
    order: I64 = np.argpartition(-keys, kth)[:pool]
    return avail[order], head


def _round(
    ctx: PlacementContext,
    reps: I32,
    filters: tuple[Filter, ...],
    scorers: tuple[Scorer, ...],
    weights: F64,
    rng: np.random.Generator,
    out: Decisions,
    slots: I64,
    level: NodeLevel | None,
    draw: Draw,
) -> tuple[Bool, I32]:
    """One optimistic round over ``ctx``'s nodes; returns who won and the (local) picks."""
    k = ctx.params.placement.sample_k
    svc = ctx.services_of(reps)  # held here: a "why not" check below may memoise other rows
    cand = draw.candidates(rng, ctx.nodes.size, (reps.shape[0], k))
    if level is not None and level.head:  # every row gets one node of the pool's best
        cand[:, 0] = slots % level.head
    total, scored = _totals(ctx, scorers, weights, cand, reps, level)
    pick, has = _best_feasible(ctx, filters, cand, reps, level, total)
    idx = np.arange(reps.shape[0])
    if not has.all():
        out.failing_filter[slots[~has]] = _first_failures(ctx, filters, cand, reps, level, ~has)
    chosen = cand[idx, pick]
    won = np.zeros(reps.shape[0], dtype=bool)
    has_idx = np.flatnonzero(has)
    demand = gather_rows(ctx.services.demand, svc)  # per row, gathered once
    ok_has, by_node = resolve_picks(
        ctx, reps[has_idx], chosen[has_idx], demand[has_idx], svc[has_idx]
    )
    won[has_idx] = ok_has
    winners = has_idx[by_node][ok_has[by_node]]  # sorted by node, then by row
    at = Scored(scored, pick, demand, svc)
    touched = commit_round(ctx, scorers, weights, reps, chosen, winners, out, slots, level, at)
    if level is not None:
        level.refresh(touched)
    out.failing_filter[slots[won]] = -1
    return won, chosen


def _best_feasible(
    ctx: PlacementContext,
    filters: tuple[Filter, ...],
    cand: I32,
    reps: I32,
    level: NodeLevel | None,
    total: F64,
) -> tuple[I64, Bool]:
    """Per row the best-scoring candidate that passes every filter, and whether there is one.

    Filters are checked lazily: only on each row's best remaining candidate, which is struck off
    (``total`` set to -inf) and replaced by the next best while it fails. The pick is the one a
    check of all (B, k) candidates would give (the first feasible maximum), at a fraction of the
    filter work, since the best candidate usually fits. With ``level``, node-only filters are
    already folded into ``total`` (-inf where they fail).
    """
    checks = [f for f in filters if level is None or not f.node_only]
    # One compiled pass for the built-in filters (full-table limits: no headroom columns)
    bits = fused_bits(checks) if ctx.limit is None else None
    every = np.arange(total.shape[0])
    pick = np.empty(total.shape[0], dtype=np.int64)
    has = np.empty(total.shape[0], dtype=bool)
    best_of_rows_jit(total, every, pick, has)  # np.argmax per row, and whether it is finite
    todo = every[has]
    while todo.size and checks:
        at = pick[todo]
        if bits is not None:
            ok = _check_fused(ctx, bits, cand, reps, todo, at)
        else:
            nodes = cand[todo, at][:, None]
            ok = np.ones(todo.shape[0], dtype=bool)
            for f in checks:
                ok &= f.mask(ctx, nodes, reps[todo])[:, 0]
        bad = todo[~ok]
        if bad.size == 0:
            break
        total[bad, at[~ok]] = -np.inf
        again = np.empty(bad.shape[0], dtype=bool)
        best_of_rows_jit(total, bad, pick, again)
        has[bad] = again
        todo = bad[again]
    return pick, has


def _check_fused(
    ctx: PlacementContext, bits: int, cand: I32, reps: I32, todo: I64, at: I64
) -> Bool:
    """`check_picks` of candidates ``cand[todo, at]`` (pair counts from the round's memo if any)."""
    nodes = cand[todo, at]
    sub = reps[todo]
    counts = None
    if bits & ANTI_AFFINITY:
        every = ctx.memo_pair_counts(cand, reps)  # the spread scorer's (B, k) lookups
        if every is not None:
            counts = every[todo, at]
        else:
            svc = ctx.replicas.service[sub]
            counts = ctx.pairs.count_pairs(svc, ctx.nodes.failure_domain, nodes[:, None])[:, 0]
    return check_picks(ctx, bits, nodes, sub, counts)


def _first_failures(
    ctx: PlacementContext,
    filters: tuple[Filter, ...],
    cand: I32,
    reps: I32,
    level: NodeLevel | None,
    rows: Bool,
) -> I8:
    """For ``rows`` (no candidate passed), the filter that rejected most candidates first."""
    first = np.full(int(np.count_nonzero(rows)), -1, dtype=np.int8)
    if not filters:
        return first
    cand, reps = cand[rows], reps[rows]
    passed = np.ones(cand.shape, dtype=bool)
    fails = np.zeros((cand.shape[0], len(filters)), dtype=np.int32)
    for i, f in enumerate(filters):
        if level is not None and f.node_only:
            m = level.masks[f.name][cand]
        else:
            m = f.mask(ctx, cand, reps)
        fails[:, i] = np.count_nonzero(passed & ~m, axis=1)
        passed &= m
    first[:] = np.argmax(fails, axis=1)
    return first


def _totals(
    ctx: PlacementContext,
    scorers: tuple[Scorer, ...],
    weights: F64,
    cand: I32,
    reps: I32,
    level: NodeLevel | None,
) -> tuple[F64, list[F64 | None]]:
    """Weighted score of every candidate, and each weighted scorer's (B, k) factors.

    Node-only scorers come from ``level`` when given (their factors are then not returned: None,
    as for scorers of weight 0). The sum runs in scorer order, as `total_scores` adds.
    """
    scored: list[F64 | None] = [None] * len(scorers)
    total: F64 = np.zeros(cand.shape, dtype=float) if level is None else level.part[cand]
    for j, (scorer, w) in enumerate(zip(scorers, weights.tolist(), strict=True)):
        if w and (level is None or not scorer.node_only):
            factor = scorer.score(ctx, cand, reps)
            scored[j] = factor
            add_weighted_jit(total, w, factor)  # total += w * factor, no temporary
    return total, scored
