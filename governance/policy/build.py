"""Table constructors that fill defaults and coerce dtypes, so drivers avoid dtype slips."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from governance.policy.types import (
    N_RESOURCES,
    NO_NODE,
    NO_REGION,
    Criticality,
    EvictionHistory,
    NodeTable,
    Observations,
    PaymentStatus,
    ReplicaTable,
    ServiceKind,
    ServiceTable,
    Snapshot,
    SnapshotError,
    Tier,
)

ArrayLike = npt.ArrayLike


def _col(value: ArrayLike | None, n: int, dtype: type, default: object) -> Any:
    if value is None:
        return np.full(n, default, dtype=dtype)
    out: Any = np.asarray(value, dtype=dtype)
    if out.ndim == 0:
        return np.full(n, out, dtype=dtype)
    return np.ascontiguousarray(out)


def _matrix(value: ArrayLike | None, n: int) -> Any:
    if value is None:
        return np.zeros((n, N_RESOURCES), dtype=np.float32)
    out = np.asarray(value, dtype=np.float32)
    return np.ascontiguousarray(np.broadcast_to(out, (n, N_RESOURCES)))


def make_nodes(
    capacity: ArrayLike,
    *,
    node_id: ArrayLike | None = None,
    failure_domain: ArrayLike | None = None,
    region: ArrayLike | None = None,
    used: ArrayLike | None = None,
    replicas_held: ArrayLike | None = None,
    healthy: ArrayLike | None = None,
    draining: ArrayLike | None = None,
    last_heartbeat_s: ArrayLike | None = None,
    reputation: ArrayLike | None = None,
    stake_gwei: ArrayLike | None = None,
    paid_access: ArrayLike | None = None,
    joined_at_s: ArrayLike | None = None,
    tier: ArrayLike | None = None,
) -> NodeTable:
    """Build a `NodeTable` from (n, R) ``capacity``; every other column has a neutral default."""
    cap = np.ascontiguousarray(np.asarray(capacity, dtype=np.float32))
    n = int(cap.shape[0])
    return NodeTable(
        node_id=_col(node_id if node_id is not None else np.arange(n), n, np.int64, 0),
        failure_domain=_col(failure_domain, n, np.int32, 0),
        region=_col(region, n, np.int32, 0),
        capacity=_matrix(cap, n),
        used=_matrix(used, n),
        replicas_held=_col(replicas_held, n, np.int32, 0),
        healthy=_col(healthy, n, np.bool_, True),
        draining=_col(draining, n, np.bool_, False),
        last_heartbeat_s=_col(last_heartbeat_s, n, np.float64, 0.0),
        reputation=_col(reputation, n, np.float32, 0.0),
        stake_gwei=_col(stake_gwei, n, np.int64, 0),
        paid_access=_col(paid_access, n, np.bool_, False),
        joined_at_s=_col(joined_at_s, n, np.float64, 0.0),
        tier=_col(tier, n, np.int8, int(Tier.NEWCOMER)),
    )


def make_services(
    demand: ArrayLike,
    *,
    service_id: ArrayLike | None = None,
    owner: ArrayLike | None = None,
    replicas: ArrayLike | None = None,
    kind: ArrayLike | None = None,
    duration_s: ArrayLike | None = None,
    payment: ArrayLike | None = None,
    criticality: ArrayLike | None = None,
    region: ArrayLike | None = None,
    dependencies: Sequence[Sequence[int]] | None = None,
) -> ServiceTable:
    """Build a `ServiceTable` from (m, R) per-replica ``demand``; dependencies are rows."""
    dem = np.ascontiguousarray(np.asarray(demand, dtype=np.float32))
    m = int(dem.shape[0])
    deps = dependencies if dependencies is not None else [()] * m
    if len(deps) != m:
        raise SnapshotError(f"dependencies: expected {m} lists, got {len(deps)}")
    indptr = np.zeros(m + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(d) for d in deps])
    flat = [int(x) for d in deps for x in d]
    return ServiceTable(
        service_id=_col(service_id if service_id is not None else np.arange(m), m, np.int64, 0),
        owner=_col(owner, m, np.int64, 0),
        demand=_matrix(dem, m),
        replicas=_col(replicas, m, np.int32, 1),
        kind=_col(kind, m, np.int8, int(ServiceKind.SERVICE)),
        duration_s=_col(duration_s, m, np.float32, 0.0),
        payment=_col(payment, m, np.int8, int(PaymentStatus.PAID)),
        criticality=_col(criticality, m, np.int8, int(Criticality.NORMAL)),
        region=_col(region, m, np.int32, NO_REGION),
        dep_indptr=indptr,
        dep_indices=np.asarray(flat, dtype=np.int32),
    )


def make_replicas(
    service: ArrayLike, *, node: ArrayLike | None = None, replica_id: ArrayLike | None = None
) -> ReplicaTable:
    """Build a `ReplicaTable` for service rows ``service`` (pending unless ``node`` is given)."""
    svc = np.ascontiguousarray(np.asarray(service, dtype=np.int32))
    k = int(svc.shape[0])
    return ReplicaTable(
        replica_id=_col(replica_id if replica_id is not None else np.arange(k), k, np.int64, 0),
        service=svc,
        node=_col(node, k, np.int32, NO_NODE),
        started_at_s=np.zeros(k, dtype=np.float64),
        sla_violations=np.zeros(k, dtype=np.int32),
        evict_at_s=np.full(k, np.inf, dtype=np.float64),
        evict_reason=np.full(k, -1, dtype=np.int8),
        last_evicted_node=np.full(k, NO_NODE, dtype=np.int32),
        last_evicted_at_s=np.full(k, -np.inf, dtype=np.float64),
        evictions=np.zeros(k, dtype=np.int32),
    )


def replicas_for(services: ServiceTable) -> ReplicaTable:
    """One pending replica row per desired replica of every service, in service order."""
    return make_replicas(np.repeat(np.arange(services.size, dtype=np.int32), services.replicas))


def make_history(n_services: int) -> EvictionHistory:
    """Empty anti-flapping history for ``n_services`` services."""
    return EvictionHistory(
        window_started_at_s=np.zeros(n_services, dtype=np.float64),
        evictions_in_window=np.zeros(n_services, dtype=np.int32),
    )


def make_observations(n: int, interval_s: float) -> Observations:
    """Observations of ``n`` perfectly behaved nodes over ``interval_s`` (fill in the rest)."""
    return Observations(
        interval_s=float(interval_s),
        uptime_fraction=np.ones(n, dtype=np.float32),
        jobs_succeeded=np.zeros(n, dtype=np.int32),
        jobs_failed=np.zeros(n, dtype=np.int32),
        sla_violations=np.zeros(n, dtype=np.int32),
        reported_capacity=np.full((n, N_RESOURCES), np.nan, dtype=np.float32),
        observed_capacity=np.full((n, N_RESOURCES), np.nan, dtype=np.float32),
    )


def recompute_usage(nodes: NodeTable, services: ServiceTable, replicas: ReplicaTable) -> NodeTable:
    """Return ``nodes`` with ``used``/``replicas_held`` recomputed from the assignment."""
    placed = replicas.node >= 0
    rows = replicas.node[placed]
    demand = services.demand[replicas.service[placed]]
    used = np.zeros_like(nodes.capacity)
    for r in range(N_RESOURCES):
        used[:, r] = np.bincount(rows, weights=demand[:, r], minlength=nodes.size)
    held = np.bincount(rows, minlength=nodes.size).astype(np.int32)
    return _replace(nodes, used=used, replicas_held=held)


def _replace(nodes: NodeTable, **changes: Any) -> NodeTable:
    return dataclasses.replace(nodes, **changes)


def make_snapshot(
    nodes: NodeTable,
    services: ServiceTable,
    replicas: ReplicaTable | None = None,
    observations: Observations | None = None,
) -> Snapshot:
    """Assemble a validated snapshot (replicas default to `replicas_for(services)`)."""
    snap = Snapshot(
        nodes=nodes,
        services=services,
        replicas=replicas if replicas is not None else replicas_for(services),
        history=make_history(services.size),
        observations=observations,
    )
    validate_snapshot(snap)
    return snap


def validate_snapshot(snapshot: Snapshot) -> None:
    """Raise `SnapshotError` naming the first column whose shape or dtype is wrong."""
    n, m, k = snapshot.nodes.size, snapshot.services.size, snapshot.replicas.size
    tables: dict[str, tuple[Any, int]] = {
        "nodes": (snapshot.nodes, n),
        "replicas": (snapshot.replicas, k),
    }
    for tname, (table, size) in tables.items():
        for column in dataclasses.fields(table):
            got = getattr(table, column.name).shape[0]
            if got != size:
                raise SnapshotError(f"{tname}.{column.name}: expected {size} rows, got {got}")
    for field in ("service_id", "owner", "demand", "replicas", "kind", "payment", "criticality"):
        if getattr(snapshot.services, field).shape[0] != m:
            raise SnapshotError(f"services.{field}: expected {m} rows")
    if snapshot.history.evictions_in_window.shape[0] != m:
        raise SnapshotError(f"history.evictions_in_window: expected {m} rows")
    if k and (snapshot.replicas.service.max(initial=0) >= m or snapshot.replicas.service.min() < 0):
        raise SnapshotError("replicas.service: row out of range")
    if k and snapshot.replicas.node.max(initial=-1) >= n:
        raise SnapshotError("replicas.node: row out of range")
