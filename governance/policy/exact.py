"""Exact greedy placement: each replica to its best feasible node, found through a node index.

The index orders available nodes by an upper-bound key (the score's node-only part with spread at
its maximum; see `Scorer.bound`). Keys of untouched nodes never change during a call, so a sorted
list serves them (sorted lazily, best chunk first); nodes that received a replica move to a heap
with their new key. A decision walks both in key order and stops as soon as the next key cannot
beat the best feasible score found: a few nodes per decision instead of all of them. Domains where
locality lifts a score above the bound are scanned explicitly. Long walks (few feasible nodes)
switch to vectorised chunks.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

import numpy as np

from governance.policy.context import Filter, PlacementContext, Scorer
from governance.policy.prepare import available_mask
from governance.policy.sampled import Decisions, new_decisions, node_keys, total_scores
from governance.policy.types import F64, I32, I64, Tier

NEG_INF = float("-inf")
# Per call: filters' `ok`, scorers' `score_one` (bound methods) and the weights as floats.
_Calls = tuple[
    tuple[Callable[[PlacementContext, int, int], bool], ...],
    tuple[Callable[[PlacementContext, int, int], float], ...],
    list[float],
]
SCALAR_STEPS = 256  # scalar evaluations per decision before switching to vectorised chunks
CHUNK = 65_536


class _Index:
    """Sorted untouched nodes plus a lazy max-heap of touched ones.

    Sorting is lazy: the best ``first`` nodes are sorted up front (argpartition, O(n)), the rest
    in doubling chunks only if a walk gets that far, so a call pays O(n) plus a sort of what it
    visits instead of a full O(n log n) sort.
    """

    def __init__(self, nodes: I64, keys: F64, first: int) -> None:
        self._rest_nodes, self._rest_keys = nodes, keys
        self.order: list[int] = []
        self.keys: list[float] = []
        self.more(first)
        self.start = 0
        self.touched: set[int] = set()
        self.dead: set[int] = set()  # can take no pending replica any more
        self.heap: list[tuple[float, int]] = []
        self.current: dict[int, float] = {}

    def update(self, node: int, key: float, alive: bool) -> None:
        self.touched.add(node)
        self.current[node] = key
        if alive:
            heapq.heappush(self.heap, (-key, node))
        else:
            self.dead.add(node)
        while self.start < len(self.order) and self.order[self.start] in self.touched:
            self.start += 1

    def more(self, count: int | None = None) -> bool:
        """Sort the next ``count`` best remaining nodes onto ``order``; False if none remain."""
        rest_keys = self._rest_keys
        size = rest_keys.shape[0]
        if size == 0:
            return False
        count = min(size, count or max(len(self.order), 1024))
        if count < size:
            # Everything tied with the cut-off comes along, so ties never straddle two chunks.
            cut = rest_keys[np.argpartition(-rest_keys, count - 1)[count - 1]]
            take = np.flatnonzero(rest_keys >= cut)
        else:
            take = np.arange(size)
        # Key descending, then node row ascending: the order a full stable sort gives.
        take = take[np.lexsort((self._rest_nodes[take], -rest_keys[take]))]
        self.order.extend(self._rest_nodes[take].tolist())
        self.keys.extend(rest_keys[take].tolist())
        keep = np.ones(size, dtype=bool)
        keep[take] = False
        self._rest_nodes, self._rest_keys = self._rest_nodes[keep], rest_keys[keep]
        return True

    def remaining(self) -> list[int]:
        """Nodes not sorted yet."""
        out: list[int] = self._rest_nodes.tolist()
        return out

    def heap_top(self) -> float:
        heap = self.heap
        while heap and (heap[0][1] in self.dead or self.current[heap[0][1]] != -heap[0][0]):
            heapq.heappop(heap)
        return -heap[0][0] if heap else -np.inf


def place_exact(
    ctx: PlacementContext,
    rows: I64,
    filters: tuple[Filter, ...],
    scorers: tuple[Scorer, ...],
    weights: F64,
) -> Decisions:
    """Place ``rows`` in order, each on its best feasible node given all earlier decisions."""
    out = new_decisions(rows.shape[0], len(scorers))
    avail = np.flatnonzero(available_mask(ctx.nodes, ctx.params, ctx.now_s))
    keys = node_keys(ctx, scorers, weights, avail)
    index = _Index(avail, keys, first=max(4 * rows.shape[0], 4096))
    min_demand = ctx.services.demand[ctx.replicas.service[rows]].min(axis=0) if rows.size else None
    weighted = [(s, w) for s, w in zip(scorers, weights.tolist(), strict=True) if w]
    special: dict[int, list[int]] = {}  # per service: domains where a bonus exceeds the bound
    check_full = any(s.prefers_full for s, _ in weighted)
    # Decisions are gathered in Python lists and written once: per-element numpy writes cost
    # more than the rest of a typical decision.
    fails: list[int] = []
    placed: list[int] = []  # positions in ``rows``
    picks: list[int] = []
    scores: list[float] = []
    factor_rows: list[list[float]] = []
    services = ctx.replicas.service[rows].tolist()
    # Bound methods looked up once: a decision calls each a few times.
    calls: _Calls = (
        tuple(f.ok for f in filters),
        tuple(s.score_one for s in scorers),
        weights.tolist(),
    )
    bounds = [(s.bound_one, w) for s, w in weighted]
    for i, (rep, svc) in enumerate(zip(rows.tolist(), services, strict=True)):
        if svc not in special:
            found = [d for s, _ in weighted for d in s.special_domains(ctx, rep)]
            special[svc] = sorted(set(found)) if found else found
        node, score, fail, factors = _decide(
            ctx, index, rep, filters, scorers, weights, weighted, special[svc], calls
        )
        fails.append(fail)
        if node < 0:
            continue
        placed.append(i)
        picks.append(node)
        scores.append(score)
        factor_rows.append(factors or [s.score_one(ctx, node, rep) for s in scorers])
        _commit_one(ctx, rep, node)
        new_key = 0.0
        for bound_one, w in bounds:
            new_key += w * bound_one(ctx, node)
        # Full nodes sink by themselves when keys fall as nodes fill; check only otherwise.
        alive = _can_take(ctx, node, min_demand) if check_full else True
        index.update(node, new_key, alive)
    out.failing_filter[:] = fails
    if placed:
        out.node[placed] = picks
        out.score[placed] = scores
        out.factors[placed] = np.array(factor_rows, dtype=np.float64)
    return out


def _decide(
    ctx: PlacementContext,
    index: _Index,
    rep: int,
    filters: tuple[Filter, ...],
    scorers: tuple[Scorer, ...],
    weights: F64,
    weighted: list[tuple[Scorer, float]],
    special: list[int],
    calls: _Calls,
) -> tuple[int, float, int, list[float] | None]:
    best, best_node = NEG_INF, -1
    best_factors: list[float] | None = None
    fails = [0] * len(filters)
    oks, score_fns, weights_l = calls
    for d in special:
        node, score = _scan_domain(ctx, d, rep, filters, scorers, weights)
        if score > best or (score == best and 0 <= node < best_node):
            best, best_node, best_factors = score, node, None
    j, popped, steps = index.start, [], 0
    order, keys, touched = index.order, index.keys, index.touched
    while True:
        while j < len(order) and order[j] in touched:
            j += 1
        if j == len(order) and index.more():
            continue
        top_sorted = keys[j] if j < len(order) else NEG_INF
        top_heap = index.heap_top()
        top = top_sorted if top_sorted >= top_heap else top_heap
        if top <= best or top == NEG_INF:
            break
        if steps >= SCALAR_STEPS:
            walked = _vector_walk(
                ctx, index, j, rep, filters, scorers, weights, best, best_node, fails
            )
            if walked[1] != best_node:
                best, best_node, best_factors = walked[0], walked[1], None
            break
        steps += 1
        if top_heap > top_sorted:
            item = heapq.heappop(index.heap)
            popped.append(item)
            node = item[1]
        else:
            node = order[j]
            j += 1
        failed = -1
        for i, ok in enumerate(oks):
            if not ok(ctx, node, rep):
                failed = i
                break
        if failed >= 0:
            fails[failed] += 1
            continue
        factors = [fn(ctx, node, rep) for fn in score_fns]
        score = 0.0
        for f, w in zip(factors, weights_l, strict=True):
            if w:
                score += w * f
        if score > best or (score == best and node < best_node):
            best, best_node, best_factors = score, node, factors
    for item in popped:
        heapq.heappush(index.heap, item)
    fail = -1 if best_node >= 0 else (int(np.argmax(fails)) if any(fails) else -1)
    return best_node, float(best), fail, best_factors


def _vector_walk(
    ctx: PlacementContext,
    index: _Index,
    j: int,
    rep: int,
    filters: tuple[Filter, ...],
    scorers: tuple[Scorer, ...],
    weights: F64,
    best: float,
    best_node: int,
    fails: list[int],
) -> tuple[float, int]:
    """Finish a long walk over every remaining candidate in vectorised chunks (same rules)."""
    rest = [n for n in index.order[j:] if n not in index.touched] + index.remaining()
    live = {n for _, n in index.heap if n not in index.dead}
    cands = np.array(sorted(live) + rest, dtype=np.int32)
    reps = np.array([rep], dtype=np.int32)
    for start in range(0, cands.shape[0], CHUNK):
        chunk = cands[None, start : start + CHUNK]
        ok = np.ones(chunk.shape, dtype=bool)
        for i, f in enumerate(filters):
            m = f.mask(ctx, chunk, reps)
            fails[i] += int(np.count_nonzero(ok & ~m))
            ok &= m
        if not ok.any():
            continue
        total = total_scores(ctx, scorers, weights, chunk, reps)[0]
        total[~ok[0]] = -np.inf
        for pos in np.flatnonzero(total == total.max()).tolist():
            node = int(chunk[0, pos])
            if total[pos] > best or (total[pos] == best and node < best_node):
                best, best_node = float(total[pos]), node
    return best, best_node


def _scan_domain(
    ctx: PlacementContext,
    domain: int,
    rep: int,
    filters: tuple[Filter, ...],
    scorers: tuple[Scorer, ...],
    weights: F64,
) -> tuple[int, float]:
    """Best feasible node of one failure domain (vectorised)."""
    members = ctx.domain_members(domain)[None, :].astype(np.int32)
    reps = np.array([rep], dtype=np.int32)
    ok = np.ones(members.shape, dtype=bool)
    for f in filters:
        ok &= f.mask(ctx, members, reps)
    if not ok.any():
        return -1, -np.inf
    total = total_scores(ctx, scorers, weights, members, reps)[0]
    total[~ok[0]] = -np.inf
    pos = int(np.argmax(total))  # first maximum = lowest row: members are sorted
    return int(members[0, pos]), float(total[pos])


def _can_take(ctx: PlacementContext, node: int, min_demand: I32 | None) -> bool:
    """Whether ``node`` could still take the smallest pending replica."""
    if min_demand is None:
        return False
    if (
        ctx.params.reputation.enabled
        and int(ctx.nodes.tier[node]) == Tier.NEWCOMER
        and int(ctx.held[node]) >= ctx.params.tiers.newcomer_max_replicas
    ):
        return False
    limit = ctx.capacity_limit_one(node)
    after = (ctx.used[node] + min_demand).tolist()
    return all(a <= b for a, b in zip(after, limit, strict=True))


def _commit_one(ctx: PlacementContext, rep: int, node: int) -> None:
    svc = ctx.replicas.service.item(rep)
    ctx.used[node] += ctx.services.demand[svc]
    ctx.held[node] += 1
    ctx.pairs.add_one(svc * ctx.pairs.n_domains + ctx.nodes.failure_domain.item(node))
    ctx.forget()
