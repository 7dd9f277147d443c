"""A sampled round's optimistic picks: which survive (capacity, quota, anti-affinity), then commit.

The picks of one round were drawn and scored against the same state; `resolve_picks` keeps those
that still fit once earlier picks on the same node are counted, and `commit_round` scores each
winner as of its own commit and applies the round's usage, pair counts and headroom at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from governance.policy.context import PlacementContext, Scorer
from governance.policy.round_kernels import (
    commit_usage_jit,
    drop_repeats_jit,
    gather_rows,
    resolve_jit,
    scatter_rows_jit,
    stable_order_jit,
    take_picks_jit,
    weighted_scores_jit,
)
from governance.policy.sorting import stable_argsort
from governance.policy.types import F32, F64, I32, I64, Bool, Tier

if TYPE_CHECKING:
    from governance.policy.sampled import Decisions, NodeLevel


#: From this many values on the radix sort beats the packed sort, whose fixed cost is lower
#: (the threshold was set against numpy's sort, which the radix sort replaced).
_RADIX_SORT_FROM = 256


@dataclass(slots=True)
class Scored:
    """A round's (B, k) factors per scorer (None: not computed), each row's pick and demand."""

    factors: list[F64 | None]
    pick: I64
    demand: F32  # (B, R) each row's demand
    service: I32  # (B,) each row's service


def commit_round(
    ctx: PlacementContext,
    scorers: tuple[Scorer, ...],
    weights: F64,
    reps: I32,
    chosen: I32,
    idx: I64,
    out: Decisions,
    slots: I64,
    level: NodeLevel | None,
    at: Scored,
) -> I32:
    """Score every winner as of its own commit, then commit the round at once.

    A winner's node-only factors are taken with the node's usage after the earlier winners on
    that node (row order), so reported scores are those at commit time, as in exact mode. The
    round's state is unchanged since its candidates were scored, so the other factors (and the
    node-only ones of each node's first winner) are those of the candidate it picked.
    Returns the distinct nodes that received replicas, ascending.
    """
    if idx.size == 0:
        return np.empty(0, dtype=np.int32)
    nodes = chosen[idx]  # ``idx`` is sorted by node, then by row
    rsel = reps[idx]
    svc = at.service[idx]
    demand = gather_rows(at.demand, idx)
    first = np.empty(nodes.shape[0], dtype=bool)
    first[0] = True
    np.not_equal(nodes[1:], nodes[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    factors = np.empty((idx.shape[0], len(scorers)), dtype=np.float32)
    where: I64 | None = None  # per row of the round, its place among the winners (-1: none)
    for j, scorer in enumerate(scorers):
        given = at.factors[j]
        if level is not None and scorer.node_only:
            factors[:, j] = level.factors[scorer.name][nodes]  # current for first winners
        elif given is not None:  # each winner's pick in the (B, k) block
            if where is None:
                where = np.full(given.shape[0], -1, dtype=np.int64)
                where[idx] = np.arange(idx.shape[0])
            take_picks_jit(given, where, at.pick, j, factors)
        else:
            factors[:, j] = scorer.score(ctx, nodes[:, None], rsel)[:, 0]
    if starts.shape[0] < nodes.shape[0]:
        _later_factors(ctx, scorers, nodes, rsel, demand, first, starts, factors)
    sl = slots[idx]
    scatter_rows_jit(factors, sl, out.factors)  # out.factors[sl] = factors
    weighted_scores_jit(factors, weights, sl, out.score)
    added = np.add.reduceat(demand, starts, axis=0)  # (its float32 order is numpy's own)
    uniq = np.empty(starts.shape[0], dtype=np.int32)
    keys = np.empty(nodes.shape[0], dtype=np.int64)
    domain, n_domains = ctx.nodes.failure_domain, ctx.pairs.n_domains
    commit_usage_jit(nodes, added, ctx.used, ctx.held, uniq, svc, domain, n_domains, keys)
    headroom = ctx.headroom_columns(refresh=False)
    ctx.pairs.add(keys)
    ctx.forget(keep_headroom=headroom is not None)
    if headroom is not None:  # keep it current in O(winners) instead of O(pool)
        for r, column in enumerate(headroom):
            column[uniq] -= added[:, r]
    return uniq


def _later_factors(
    ctx: PlacementContext,
    scorers: tuple[Scorer, ...],
    nodes: I32,
    rsel: I32,
    demand: F32,
    first: Bool,
    starts: I64,
    factors: F32,
) -> None:
    """Node-only factors of winners behind earlier winners on their node, layer by layer.

    Layer l holds every node's l-th winner (distinct nodes; the (l-1)-th sits just before it,
    as winners are sorted by node), so adding the previous layer's demand to the node's usage
    in place gives the usage at this winner's commit: no copy of node columns. Usage is
    restored at the end (sums of whole numbers are exact in float32).
    """
    seg = np.cumsum(first) - 1
    rank = np.arange(nodes.shape[0]) - starts[seg]
    later = np.flatnonzero(~first)
    layer_of = rank[later]
    only = [(j, s) for j, s in enumerate(scorers) if s.node_only]
    second = later[layer_of == 1]  # one per node with later winners
    saved = ctx.used[nodes[second]]
    for layer in range(1, int(layer_of.max()) + 1):
        rows = second if layer == 1 else later[layer_of == layer]
        at = nodes[rows]
        ctx.used[at] += demand[rows - 1]
        for j, scorer in only:
            factors[rows, j] = scorer.score(ctx, at[:, None], rsel[rows])[:, 0]
    ctx.used[nodes[second]] = saved
    ctx.forget(keep_headroom=True)


def resolve_picks(
    ctx: PlacementContext, reps: I32, chosen: I32, demand: F32, svc: I32 | None = None
) -> tuple[Bool, I64]:
    """Which optimistic picks survive, in row order: capacity, newcomer quota, anti-affinity.

    ``demand`` is each pick's replica demand, ``svc`` its service (None: looked up). Also
    returns the picks' order by node (stable), which the commit reuses.
    """
    headroom = ctx.headroom_columns()
    if svc is None:
        svc = ctx.replicas.service[reps]
    if headroom is None:  # compiled passes (capacity scaled for newcomers, quota, spread)
        tiers = ctx.params.tiers
        n = ctx.nodes
        order = stable_order(chosen)
        ok = np.empty(reps.shape[0], dtype=bool)
        rows = np.empty(reps.shape[0], dtype=np.int64)
        keys = np.empty(reps.shape[0], dtype=np.int64)
        spreading = resolve_jit(
            chosen,
            order,
            demand,
            ctx.used,
            n.capacity,
            n.tier,
            ctx.held,
            ctx.params.reputation.enabled,
            np.float32(tiers.newcomer_capacity_fraction),
            tiers.newcomer_max_replicas,
            svc,
            ctx.services.replicas,
            ctx.live_domains,
            n.failure_domain,
            ctx.pairs.n_domains,
            ok,
            rows,
            keys,
        )
        if spreading > 1:  # one pick per (spreading service, domain) in the batch
            keys = keys[:spreading]
            drop_repeats_jit(keys, stable_order(keys), rows, ok)
        return ok, order
    order = stable_argsort(chosen)
    nodes = chosen[order]
    # within: cumulative demand on this node among earlier picks, this one included (a copy)
    within = demand[order]
    seg_start = np.empty(nodes.shape[0], dtype=bool)
    seg_start[:1] = True
    np.not_equal(nodes[1:], nodes[:-1], out=seg_start[1:])
    starts = np.flatnonzero(seg_start)
    seg_id = np.cumsum(seg_start) - 1
    rank = np.arange(nodes.shape[0]) - starts[seg_id]
    _cumulate_layers(within, seg_start, rank)
    fits = np.ones(nodes.shape[0], dtype=bool)
    for r, column in enumerate(headroom):
        fits &= within[:, r] <= column[nodes]
    if ctx.params.reputation.enabled:
        newcomer = ctx.nodes.tier[nodes] == Tier.NEWCOMER
        quota = ctx.params.tiers.newcomer_max_replicas
        fits &= ~newcomer | (ctx.held[nodes] + rank < quota)
    ok = np.zeros(reps.shape[0], dtype=bool)
    ok[order] = fits
    # Two replicas of one spreading service may not land in one domain in the same batch.
    spread = ctx.spreads(svc) & ok
    if spread.any():
        idx = np.flatnonzero(spread)
        keys = ctx.pairs.key(svc[idx], ctx.nodes.failure_domain[chosen[idx]])
        by_key = stable_argsort(keys)
        sorted_keys = keys[by_key]
        dup = np.zeros(idx.shape[0], dtype=bool)
        np.equal(sorted_keys[1:], sorted_keys[:-1], out=dup[1:])
        ok[idx[by_key[dup]]] = False
    return ok, order


def stable_order(values: I32 | I64) -> I64:
    """``argsort(values, kind="stable")``: a packed sort for a few values, a radix sort for many."""
    if values.shape[0] < _RADIX_SORT_FROM:
        out: I64 = stable_order_jit(values)
        return out
    return stable_argsort(values)


def _cumulate_layers(values: F32, first: Bool, rank: I64) -> None:
    """In place, running sums of ``values`` rows within runs that start where ``first`` is set.

    Layer by layer (the l-th row of every run at once): runs are short, so a few small passes
    replace a full-length float64 cumsum. Float32 is exact: sums of whole numbers below 2**24,
    and beyond that (far over any node's capacity) rounding cannot bring a sum back under it.
    """
    later = np.flatnonzero(~first)
    if later.size == 0:
        return
    layer_of = rank[later]
    for layer in range(1, int(layer_of.max()) + 1):
        rows = later[layer_of == layer]
        values[rows] += values[rows - 1]
