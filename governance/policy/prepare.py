"""Builds the `PlacementContext` for one placement call from a snapshot and the rows to place."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

from governance.policy.context import PlacementContext
from governance.policy.merges import distinct, key_ranges
from governance.policy.pairs import PairCounts
from governance.policy.prefetch import prefetch_read
from governance.policy.scans import assigned_keys_of
from governance.policy.types import F32, F64, I32, I64, Bool, NodeTable, Snapshot

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


def dependency_runs(indptr: I64, indices: I32, services: I64) -> tuple[I64, I32]:
    """Per service its number of dependencies, and their rows concatenated (CSR ``indptr``).

    ``lens = indptr[services + 1] - indptr[services]`` and
    ``indices[concat_ranges(indptr[services], lens)]``, in compiled passes that prefetch the
    services' pointers and runs (random rows of tables as long as the service table).
    """
    out: tuple[I64, I32] = dependency_runs_jit(indptr, indices, services)
    return out


def _dependency_runs_loop(indptr: I64, indices: I32, services: I64) -> tuple[I64, I32]:
    m = services.shape[0]
    lens = np.empty(m, dtype=np.int64)
    total = 0
    for i in range(m):
        if i + _AHEAD < m:
            prefetch_read(indptr, services[i + _AHEAD])
        s = services[i]
        lens[i] = indptr[s + 1] - indptr[s]
        total += lens[i]
    out = np.empty(total, dtype=indices.dtype)
    found = 0
    for i in range(m):
        if i + _AHEAD < m:
            prefetch_read(indices, indptr[services[i + _AHEAD]])
        lo = indptr[services[i]]
        for p in range(lo, lo + lens[i]):
            out[found] = indices[p]
            found += 1
    return lens, out


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
    *,
    row_services: I32 | None = None,
) -> PlacementContext:
    """Context for placing replica ``rows``; the call may update ``used`` and ``held``.

    ``row_services``: the rows' services if the caller has them (else gathered here).
    """
    nodes, services, replicas = snapshot.nodes, snapshot.services, snapshot.replicas
    n_dom = int(nodes.failure_domain.max()) + 1 if nodes.size else 1
    if row_services is None:
        row_services = replicas.service[rows]
    pending_svc = distinct(row_services)  # one pass when the rows' services are sorted
    lens, dep = dependency_runs(services.dep_indptr, services.dep_indices, pending_svc)
    relevant = np.zeros(services.size, dtype=bool)
    relevant[pending_svc] = True
    relevant[dep] = True
    # the pair keys of the relevant services' assigned replicas (few rows), in one pass
    keys = assigned_keys_of(replicas.service, replicas.node, relevant, nodes.failure_domain, n_dom)
    pairs = PairCounts(keys, n_dom)
    locality = _locality(pairs.keys, pending_svc, lens, dep, services.size, n_dom)
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
        live_domains=live_domains,
    )


def _live_domains(
    nodes: NodeTable, params: PolicyParams, now_s: float, n_dom: int, wanted: I32
) -> int:
    """Failure domains with an available node; a sample answers when it already suffices.

    Only ``live >= replicas`` matters (anti-affinity applies then), so counting the domains of
    the first 64k nodes is enough when that already covers the largest pending service.
    """
    need = int(wanted.max(initial=0))
    fresh_from_s = now_s - params.eviction.heartbeat_ttl_s
    head = min(nodes.size, _LIVE_HEAD)
    return int(
        live_domains_jit(
            nodes.healthy,
            nodes.draining,
            nodes.last_heartbeat_s,
            fresh_from_s,
            nodes.failure_domain,
            n_dom,
            need,
            head,
        )
    )


def _live_domains_loop(healthy: Bool, draining: Bool, heartbeat_s: F64, fresh_from_s: float,
                       domain: I32, n_domains: int, need: int, head: int) -> int:  # fmt: skip
    """Domains with an available node among the first ``head`` nodes, or all if short of ``need``.

    Available: healthy, not draining, heartbeat at or after ``fresh_from_s``. One pass, which
    stops after the head when the head already reaches ``need``.
    """
    seen = np.zeros(n_domains, dtype=np.bool_)
    live = 0
    for j in range(domain.shape[0]):
        if j == head and live >= need:
            break
        if healthy[j] and not draining[j] and heartbeat_s[j] >= fresh_from_s:
            d = domain[j]
            if not seen[d]:
                seen[d] = True
                live += 1
    return live


def _locality_pairs_loop(presence: I64, lo: I64, hi: I64, dep: I32, lens: I64, pending: I64,
                         n_domains: int, bound: int) -> tuple[I64, I32]:  # fmt: skip
    """Sorted distinct (service, domain) keys of ``pending`` services with their counts.

    Pending service i has the next ``lens[i]`` dependency entries; entry e is service ``dep[e]``,
    whose keys are ``presence[lo[e]:hi[e]]``. The count of key ``s * n_domains + d`` is the number
    of s's entries with a key for domain d. ``pending`` is ascending, and each service's domains
    are tallied (kept in domain order as first seen) then emitted in that order, so the keys come
    out sorted: no sort of the pairs, and no scan of every domain per service.
    ``bound`` caps the output (the sum of ``min(hi - lo, n_domains)``). The keys of the entry
    ``_AHEAD`` on are prefetched (a random run of ``presence``).
    """
    keys = np.empty(bound, dtype=np.int64)
    counts = np.empty(bound, dtype=np.int32)
    tally = np.zeros(n_domains, dtype=np.int32)
    touched = np.empty(n_domains, dtype=np.int64)  # this service's domains with a tally
    entries = lo.shape[0]
    found = 0
    e = 0
    for i in range(pending.shape[0]):
        seen = 0
        for _ in range(lens[i]):
            if e + _AHEAD < entries:
                prefetch_read(presence, lo[e + _AHEAD])
            base = np.int64(dep[e]) * n_domains
            for p in range(lo[e], hi[e]):
                dom = presence[p] - base
                if tally[dom] == 0:  # insertion sort as they come: a service touches a few
                    q = seen
                    while q > 0 and touched[q - 1] > dom:
                        touched[q] = touched[q - 1]
                        q -= 1
                    touched[q] = dom
                    seen += 1
                tally[dom] += 1
            e += 1
        # Only the touched domains, in domain order: not a scan of all n_domains per service.
        s = np.int64(pending[i]) * n_domains
        for q in range(seen):
            dom = touched[q]
            keys[found] = s + dom
            counts[found] = tally[dom]
            found += 1
            tally[dom] = 0
    return keys[:found].copy(), counts[:found].copy()


#: Index the locality table by service (an O(services) pass) when the pending services are at
#: least this share of all services: then their rows' binary searches cost more than the pass.
_INDEX_SHARE = 16
#: Dependency entries between the prefetch of an entry's presence keys and their use.
_AHEAD = 16

#: Nodes whose domains are counted first (`_live_domains`): all of them only if these fall short.
_LIVE_HEAD = 65_536

_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
locality_pairs_jit = _jit(_locality_pairs_loop)
live_domains_jit = _jit(_live_domains_loop)
dependency_runs_jit = _jit(_dependency_runs_loop)


def _locality(
    presence: I64, pending: I64, lens: I64, dep: I32, n_services: int, n_dom: int
) -> PairCounts:
    """(service, domain) -> number of the service's dependencies present in the domain.

    ``presence`` holds the sorted (service, domain) keys with a replica; ``pending`` the services
    being placed, ascending, with ``lens`` dependency entries each, ``dep`` (concatenated).
    """
    lo, hi = key_ranges(presence, n_dom, dep)  # a merge: no O(services) pass
    bound = int(np.minimum(hi - lo, n_dom).sum())
    keys, counts = locality_pairs_jit(presence, lo, hi, dep, lens, pending, n_dom, bound)
    table = PairCounts.from_sorted(keys, counts, n_dom)
    if pending.shape[0] * _INDEX_SHARE >= n_services:  # many rows will look the table up
        table.index_services(n_services)
    return table
