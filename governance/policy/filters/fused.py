"""Every built-in filter's verdict on a round's picks in one compiled pass (not a plugin).

Sampled mode checks each row's best candidate against every filter. Through the plugins that is
a numpy gather per column and filter (the tier column three times) over random rows of node
tables as long as the network; this loop reads each pick's node rows once, prefetched a few picks
ahead, and applies exactly the plugins' tests, so the verdicts are the same booleans.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numba
import numpy as np

from governance.policy.filters import (
    anti_affinity,
    capacity_fit,
    eviction_cooldown,
    newcomer_quota,
    node_available,
    region,
    tier_allowed,
)
from governance.policy.prefetch import prefetch_read, prefetch_row
from governance.policy.types import F32, F64, I8, I32, I64, NO_REGION, Bool, Tier

if TYPE_CHECKING:
    from governance.policy.context import Filter, PlacementContext

AVAILABLE, CAPACITY, TIER, QUOTA, REGION, ANTI_AFFINITY, COOLDOWN = (1 << i for i in range(7))
#: The plugin objects the pass stands in for (by identity: a look-alike plugin is not fused).
_BITS = {
    node_available.PLUGIN: AVAILABLE,
    capacity_fit.PLUGIN: CAPACITY,
    tier_allowed.PLUGIN: TIER,
    newcomer_quota.PLUGIN: QUOTA,
    region.PLUGIN: REGION,
    anti_affinity.PLUGIN: ANTI_AFFINITY,
    eviction_cooldown.PLUGIN: COOLDOWN,
}
_NEWCOMER = int(Tier.NEWCOMER)
#: Picks between the prefetch of a node's rows and their use (random rows: cache misses).
_AHEAD = 8


def fused_bits(filters: list[Filter] | tuple[Filter, ...]) -> int | None:
    """The bit set of ``filters`` for `check_picks`, or None if one of them is not built in."""
    return _bits_of(tuple(filters))


@functools.cache  # fixed per filter list: once per list, not per round
def _bits_of(filters: tuple[Filter, ...]) -> int | None:
    bits = 0
    for f in filters:
        bit = _BITS.get(f)
        if bit is None:
            return None
        bits |= bit
    return bits


def _check_picks_loop(bits: int, nodes: I32, reps: I32, rep_service: I32,
                      healthy: Bool, draining: Bool, heartbeat_s: F64, fresh_from_s: float,
                      used: F32, limit: F32, tier: I8, scale: bool, fraction: np.float32,
                      demand: F32, criticality: I8, max_criticality: int, held: I32, quota: int,
                      service_region: I32, node_region: I32, want_replicas: I32,
                      live_domains: int, counts: I32,
                      evicted_at_s: F64, evicted_node: I32, cooldown_s: float, now_s: float,
                      global_rows: I64, out: Bool) -> None:  # fmt: skip
    """``out[i]``: node ``n = nodes[i]`` passes every filter of ``bits`` for replica ``reps[i]``.

    The plugins' tests, in their dtypes: node_available (healthy, not draining, heartbeat at or
    after ``fresh_from_s``), capacity_fit (float32 ``used + demand <= limit``, a newcomer's limit
    times ``fraction`` when ``scale``), tier_allowed (a newcomer takes criticality at most
    ``max_criticality``), newcomer_quota (a newcomer holds fewer than ``quota``), region, anti
    affinity (``counts[i] == 0`` where the service can spread: ``want_replicas[svc] <=
    live_domains``) and eviction_cooldown (not the node the replica left within
    ``cooldown_s``; ``global_rows`` maps local rows, empty: none).
    The caller clears the tier bits when reputation is off, as those plugins then pass all.
    """
    count = nodes.shape[0]
    mapped = global_rows.shape[0] > 0
    for i in range(count):
        # The replica's rows are random too (pending rows of a long table): its service row
        # is asked for two strides ahead, so the service's rows can be asked for one ahead.
        if i + 2 * _AHEAD < count:
            far = reps[i + 2 * _AHEAD]
            prefetch_read(rep_service, far)
            if bits & COOLDOWN:
                prefetch_read(evicted_at_s, far)
                prefetch_read(evicted_node, far)
        if i + _AHEAD < count:
            near = rep_service[reps[i + _AHEAD]]
            if bits & CAPACITY:
                prefetch_row(demand, near)
            if bits & TIER:
                prefetch_read(criticality, near)
            if bits & REGION:
                prefetch_read(service_region, near)
            if bits & ANTI_AFFINITY:
                prefetch_read(want_replicas, near)
            ahead = nodes[i + _AHEAD]
            if bits & AVAILABLE:
                prefetch_read(healthy, ahead)
                prefetch_read(draining, ahead)
                prefetch_read(heartbeat_s, ahead)
            if bits & CAPACITY:
                prefetch_row(used, ahead)
                prefetch_row(limit, ahead)
            prefetch_read(tier, ahead)
            if bits & QUOTA:
                prefetch_read(held, ahead)
            if bits & REGION:
                prefetch_read(node_region, ahead)
        n = nodes[i]
        rep = reps[i]
        svc = rep_service[rep]
        newcomer = tier[n] == _NEWCOMER
        ok = True
        if bits & AVAILABLE:
            ok &= healthy[n] and not draining[n] and heartbeat_s[n] >= fresh_from_s
        if bits & CAPACITY:
            scaled = scale and newcomer
            for r in range(used.shape[1]):
                cap = limit[n, r] * fraction if scaled else limit[n, r]
                ok &= used[n, r] + demand[svc, r] <= cap
        if bits & TIER and newcomer:
            ok &= criticality[svc] <= max_criticality
        if bits & QUOTA and newcomer:
            ok &= held[n] < quota
        if bits & REGION:
            want = service_region[svc]
            ok &= want == NO_REGION or node_region[n] == want
        if bits & ANTI_AFFINITY:
            ok &= want_replicas[svc] > live_domains or counts[i] == 0
        if bits & COOLDOWN and now_s < evicted_at_s[rep] + cooldown_s:
            row = global_rows[n] if mapped else n
            ok &= row != evicted_node[rep]
        out[i] = ok


check_picks_jit = numba.njit(cache=True, nogil=True, error_model="numpy")(_check_picks_loop)
_NONE_I32 = np.zeros(0, dtype=np.int32)
_NONE_I64 = np.zeros(0, dtype=np.int64)


def check_picks(
    ctx: PlacementContext, bits: int, nodes: I32, reps: I32, counts: I32 | None
) -> Bool:
    """Whether each pick ``nodes[i]`` passes the filters of ``bits`` for ``reps[i]``, (T,).

    Only for contexts without a precomputed ``limit`` (their capacity filter gathers headroom
    columns instead). ``counts``: the pair counts of the picks (needed with `ANTI_AFFINITY`).
    """
    p = ctx.params
    if not p.reputation.enabled:
        bits &= ~(TIER | QUOTA)
    n, s, r = ctx.nodes, ctx.services, ctx.replicas
    out = np.empty(nodes.shape[0], dtype=bool)
    check_picks_jit(
        bits,
        nodes,
        reps,
        r.service,
        n.healthy,
        n.draining,
        n.last_heartbeat_s,
        ctx.now_s - p.eviction.heartbeat_ttl_s,
        ctx.used,
        n.capacity,
        n.tier,
        p.reputation.enabled,
        np.float32(p.tiers.newcomer_capacity_fraction),
        s.demand,
        s.criticality,
        int(p.tiers.newcomer_max_criticality),
        ctx.held,
        int(p.tiers.newcomer_max_replicas),
        s.region,
        n.region,
        s.replicas,
        ctx.live_domains,
        _NONE_I32 if counts is None else counts,
        r.last_evicted_at_s,
        r.last_evicted_node,
        float(p.eviction.cooldown_s),
        float(ctx.now_s),
        _NONE_I64 if ctx.rows is None else ctx.rows,
        out,
    )
    return out
