"""Columnar (structure-of-arrays) state the policy core reads and returns.

Rows are positions: node ``i`` is row ``i`` of every `NodeTable` column, and replicas refer to
nodes and
services by row (int32). Stable identities live in the ``*_id`` columns (int64). Drivers keep the
tables
aligned; `validate_snapshot` checks shapes and dtypes. Arrays are treated as immutable unless a
call is
made with ``donate=True`` (the caller gives the input arrays to the core, which may then write into
them).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from governance.errors import GovernanceError

#: Resource columns of every (n, R) matrix, with their units.
RESOURCE_NAMES: tuple[str, ...] = ("cpu_millicores", "memory_mib", "disk_mib")
N_RESOURCES = len(RESOURCE_NAMES)

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int8]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

NO_NODE = -1  # replica.node for a pending (unassigned) replica
NO_REGION = -1  # service.region for "any region"


class Tier(IntEnum):
    """Access tier of a node (int8 column); see `governance.policy.reputation` for the rules."""

    NEWCOMER = 0
    ESTABLISHED = 1
    TRUSTED = 2


class ServiceKind(IntEnum):
    """Long-lived service or batch task (with a duration)."""

    SERVICE = 0
    TASK = 1


class PaymentStatus(IntEnum):
    """Payment signal for a service, an input from settlement (the core never asks a chain)."""

    PAID = 0
    UNPAID = 1
    TOKEN_EXPIRED = 2


class Criticality(IntEnum):
    """How much a service's owner cares; newcomer nodes only get LOW. Lower is evicted first."""

    LOW = 0
    NORMAL = 1
    HIGH = 2


class SnapshotError(GovernanceError, ValueError):
    """A snapshot's columns have inconsistent shapes or dtypes (a driver bug, named by column)."""


@dataclass(frozen=True, slots=True)
class NodeTable:
    """Nodes as columns. ``capacity``/``used`` are (n, R) in `RESOURCE_NAMES` units."""

    node_id: I64
    failure_domain: I32
    region: I32
    capacity: F32
    used: F32
    replicas_held: I32
    healthy: Bool
    draining: Bool
    last_heartbeat_s: F64
    reputation: F32
    stake_gwei: I64
    paid_access: Bool
    joined_at_s: F64
    tier: I8

    @property
    def size(self) -> int:
        return int(self.node_id.shape[0])


@dataclass(frozen=True, slots=True)
class ServiceTable:
    """Services as columns; ``demand`` is per replica, (m, R); dependencies are CSR over rows."""

    service_id: I64
    owner: I64
    demand: F32
    replicas: I32
    kind: I8
    duration_s: F32
    payment: I8
    criticality: I8
    region: I32
    dep_indptr: I64
    dep_indices: I32

    @property
    def size(self) -> int:
        return int(self.service_id.shape[0])

    def dependencies(self, service: int) -> I32:
        """Rows of the services that ``service`` depends on."""
        return self.dep_indices[self.dep_indptr[service] : self.dep_indptr[service + 1]]


@dataclass(frozen=True, slots=True)
class ReplicaTable:
    """One row per desired replica: where it runs (``node`` or `NO_NODE`) plus eviction state.

    ``evict_at_s`` is the deadline of a planned eviction (``inf`` = none) and ``evict_reason`` its
    `EvictionReason` code (-1 = none). ``last_evicted_node``/``last_evicted_at_s`` drive the
    anti-flapping cooldown; ``evictions`` counts how often the replica has been evicted.
    ``sla_violations`` is a driver input: recent SLA violations of this replica.
    """

    replica_id: I64
    service: I32
    node: I32
    started_at_s: F64
    sla_violations: I32
    evict_at_s: F64
    evict_reason: I8
    last_evicted_node: I32
    last_evicted_at_s: F64
    evictions: I32

    @property
    def size(self) -> int:
        return int(self.replica_id.shape[0])


@dataclass(frozen=True, slots=True)
class EvictionHistory:
    """Per-service anti-flapping state: evictions in the current fixed window."""

    window_started_at_s: F64
    evictions_in_window: I32


@dataclass(frozen=True, slots=True)
class Observations:
    """What drivers measured per node since the last cycle (inputs to reputation).

    ``uptime_fraction`` is the share of expected heartbeats received in ``interval_s``;
    ``reported_capacity`` is what the node claims, ``observed_capacity`` what probes measured (NaN =
    not probed). Counts are per interval. When probes reach only a few nodes, ``observed_rows`` may
    name them: ``observed_capacity`` then has one row per entry and every other node is unprobed
    (the same meaning as NaN rows, without an (n, R) table that is mostly NaN).
    """

    interval_s: float
    uptime_fraction: F32
    jobs_succeeded: I32
    jobs_failed: I32
    sla_violations: I32
    reported_capacity: F32
    observed_capacity: F32
    observed_rows: I64 | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one policy cycle reads; `run_cycle` returns an updated one."""

    nodes: NodeTable
    services: ServiceTable
    replicas: ReplicaTable
    history: EvictionHistory
    observations: Observations | None = None
