"""Builds the `PlacementContext` for one placement call from a snapshot and the rows to place."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from governance.policy.context import PlacementContext
from governance.policy.pairs import PairCounts
from governance.policy.scans import assigned_rows_of
from governance.policy.types import F32, I32, I64, Bool, NodeTable, Snapshot

if TYPE_CHECKING:
    from governance.policy.params import PolicyParams


def concat_ranges(starts: I64, lens: I64) -> I64:
    """Concatenation of ``arange(s, s + l)`` for each (s, l), without a Python loop."""
    total = int(lens.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    offsets = np.cumsum(lens) - lens
    out: I64 = np.repeat(starts - offsets, lens) + np.arange(total, dtype=np.int64)
    return out


def available_mask(nodes: NodeTable, params: PolicyParams, now_s: float) -> Bool:
    """Nodes that may take replicas: healthy, not draining, heartbeat within the TTL."""
    out: Bool = nodes.last_heartbeat_s >= now_s - params.eviction.heartbeat_ttl_s
    out &= nodes.healthy
    out &= ~nodes.draining
    return out


def build_context(
    snapshot: Snapshot,
    params: PolicyParams,
    now_s: float,
    rows: I64,
    used: F32,
    held: I32,
) -> PlacementContext:
    """Context for placing replica ``rows``; the call may update ``used`` and ``held``."""
    nodes, services, replicas = snapshot.nodes, snapshot.services, snapshot.replicas
    n_dom = int(nodes.failure_domain.max()) + 1 if nodes.size else 1
    pending_mask = np.zeros(services.size, dtype=bool)
    pending_mask[replicas.service[rows]] = True
    pending_svc = np.flatnonzero(pending_mask)
    lens = services.dep_indptr[pending_svc + 1] - services.dep_indptr[pending_svc]
    dep_src = np.repeat(pending_svc, lens)
    dep = services.dep_indices[concat_ranges(services.dep_indptr[pending_svc], lens)]
    relevant = np.zeros(services.size, dtype=bool)
    relevant[pending_svc] = True
    relevant[dep] = True
    sel_rows = assigned_rows_of(replicas.service, replicas.node, relevant)  # few rows
    keys = replicas.service[sel_rows].astype(np.int64) * n_dom
    keys += nodes.failure_domain[replicas.node[sel_rows]]
    pairs = PairCounts(keys, n_dom)
    locality = _locality(pairs.keys, dep_src, dep.astype(np.int64), n_dom)
    live_domains = _live_domains(nodes, params, now_s, n_dom, services.replicas[pending_svc])
    return PlacementContext(
        nodes=nodes,
        services=services,
        replicas=replicas,
        params=params,
        now_s=now_s,
        used=used,
        held=held,
        pairs=pairs,
        locality=locality,
        spread_active=services.replicas <= live_domains,
        # the pending services are exactly the services of ``rows``: no per-row demand gather
        max_demand=(
            services.demand[pending_svc].max(axis=0)
            if rows.size
            else np.zeros(services.demand.shape[1], dtype=np.float32)
        ),
    )


def _live_domains(
    nodes: NodeTable, params: PolicyParams, now_s: float, n_dom: int, wanted: I32
) -> int:
    """Failure domains with an available node; a sample answers when it already suffices.

    Only ``live >= replicas`` matters (anti-affinity applies then), so counting the domains of
    the first 64k nodes is enough when that already covers the largest pending service.
    """
    need = int(wanted.max(initial=0))
    head = slice(0, min(nodes.size, 65_536))
    ttl = params.eviction.heartbeat_ttl_s
    for part in (head, slice(0, nodes.size)):
        fresh = nodes.last_heartbeat_s[part] >= now_s - ttl
        avail = nodes.healthy[part] & ~nodes.draining[part] & fresh
        domains = nodes.failure_domain[part][avail]
        live = int(np.count_nonzero(np.bincount(domains, minlength=n_dom)))
        if live >= need or part.stop == nodes.size:
            return live
    return 0


def _locality(presence: I64, dep_src: I64, dep: I64, n_dom: int) -> PairCounts:
    """(service, domain) -> number of the service's dependencies present in the domain."""
    lo = np.searchsorted(presence, dep * n_dom)
    hi = np.searchsorted(presence, (dep + 1) * n_dom)
    counts = (hi - lo).astype(np.int64)
    src = np.repeat(dep_src, counts)
    domains = presence[concat_ranges(lo.astype(np.int64), counts)] % n_dom
    loc_keys = src * n_dom + domains
    return PairCounts(loc_keys, n_dom)
