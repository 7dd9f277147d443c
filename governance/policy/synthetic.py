"""Seeded synthetic networks for tests, the demo and benchmarks (pure: the caller owns the RNG)."""

from __future__ import annotations

import dataclasses

import numpy as np

from governance.policy.build import make_nodes, make_services, make_snapshot
from governance.policy.types import Snapshot, Tier

DAY_S = 86_400.0
NODE_CPU = np.array([4_000, 8_000, 16_000, 32_000], dtype=np.float32)  # millicores
NODE_MEM = np.array([8_192, 16_384, 32_768, 65_536], dtype=np.float32)  # MiB
NODE_DISK = np.array([100_000, 200_000, 400_000], dtype=np.float32)  # MiB
REPLICA_CPU = np.array([100, 250, 500, 1_000], dtype=np.float32)
REPLICA_MEM = np.array([128, 256, 512, 1_024], dtype=np.float32)
REPLICA_DISK = np.array([500, 1_000, 2_000], dtype=np.float32)


def synthetic_network(
    n_nodes: int,
    n_services: int,
    rng: np.random.Generator,
    *,
    now_s: float = 60 * DAY_S,
    domains: int | None = None,
    regions: int = 4,
    newcomer_share: float = 0.1,
    max_replicas: int = 3,
    dependency_share: float = 0.3,
) -> Snapshot:
    """A network of established nodes (plus newcomers) and pending replicas of ``n_services``.

    Capacities and demands are whole units, so float32 sums stay exact. Heartbeats are fresh at
    ``now_s``; established nodes joined 30-60 days before it, newcomers within the last day.
    """
    n_dom = domains if domains is not None else max(8, n_nodes // 500)
    cap = np.stack(
        [
            rng.choice(NODE_CPU, n_nodes),
            rng.choice(NODE_MEM, n_nodes),
            rng.choice(NODE_DISK, n_nodes),
        ],
        axis=1,
    )
    newcomer = rng.random(n_nodes) < newcomer_share
    joined = np.where(
        newcomer,
        now_s - rng.uniform(0, DAY_S, n_nodes),
        now_s - rng.uniform(30, 60, n_nodes) * DAY_S,
    )
    reputation = np.where(newcomer, 0.0, rng.beta(8, 2, n_nodes)).astype(np.float32)
    tier = np.where(
        newcomer, Tier.NEWCOMER, np.where(reputation >= 0.8, Tier.TRUSTED, Tier.ESTABLISHED)
    )
    nodes = make_nodes(
        cap,
        failure_domain=rng.integers(0, n_dom, n_nodes),
        region=rng.integers(0, regions, n_nodes),
        last_heartbeat_s=now_s,
        reputation=reputation,
        joined_at_s=joined,
        tier=tier,
    )
    demand = np.stack(
        [
            rng.choice(REPLICA_CPU, n_services),
            rng.choice(REPLICA_MEM, n_services),
            rng.choice(REPLICA_DISK, n_services),
        ],
        axis=1,
    )
    # 0-2 dependencies per service, always on earlier services (an acyclic graph), as CSR.
    row = np.arange(n_services)
    n_deps = np.where((row > 0) & (rng.random(n_services) < dependency_share), 1 + (row > 1), 0)
    indptr = np.zeros(n_services + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(n_deps)
    owner_row = np.repeat(row, n_deps)
    dep_indices = np.floor(rng.random(owner_row.shape[0]) * owner_row).astype(np.int32)
    services = make_services(
        demand,
        owner=rng.integers(0, max(1, n_services // 5), n_services),
        replicas=rng.integers(1, max_replicas + 1, n_services),
        criticality=rng.integers(0, 3, n_services),
    )
    services = dataclasses.replace(services, dep_indptr=indptr, dep_indices=dep_indices)
    return make_snapshot(nodes, services)
