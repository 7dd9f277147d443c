"""The service's live cluster state: the columnar tables the policy reads, grown request by request.

Nodes and replicas live in growable column buffers; services are few and change rarely, so their
table (with its dependency CSR) is rebuilt when one is added. Between cycles, heartbeats accumulate
per-node counters that become the cycle's `Observations` (uptime = heartbeats received / expected).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from governance.errors import GovernanceError
from governance.policy import PolicyParams, run_cycle
from governance.policy.build import (
    make_history,
    make_nodes,
    make_replicas,
    make_services,
    recompute_usage,
)
from governance.policy.results import CyclePlan
from governance.policy.types import (
    F32,
    I32,
    N_RESOURCES,
    NO_NODE,
    EvictionHistory,
    NodeTable,
    Observations,
    PaymentStatus,
    ReplicaTable,
    ServiceTable,
    Snapshot,
)
from governance.service.columns import GrowableTable


class UnknownNodeError(GovernanceError, LookupError):
    """No node is registered under that address."""


class UnknownServiceError(GovernanceError, LookupError):
    """No service has that id."""


class ConflictError(GovernanceError, ValueError):
    """The request conflicts with current state (e.g. a node registered twice)."""


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """What a node declares when it registers."""

    address: str
    region: int
    failure_domain: int
    capacity: tuple[float, ...]
    stake_wei: int
    joined_at_s: float


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """What an owner asks for when it submits a service or task."""

    service_id: int
    name: str
    owner: str
    demand: tuple[float, ...]
    replicas: int
    kind: int
    duration_s: float
    criticality: int
    region: int
    depends_on: tuple[int, ...]
    payment: int
    paid_until_s: float = float("inf")  # expiry of the owner's API token (inf: no settlement)


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """One metrics report from a node."""

    used: tuple[float, ...]
    reported_capacity: tuple[float, ...]
    healthy: bool
    jobs_succeeded: int
    jobs_failed: int
    sla_violations: int


@dataclass(frozen=True, slots=True)
class NodeEvidence:
    """Per-node evidence gathered since the last cycle, as columns.

    The counts restart at each cycle; the last report's capacity claim is kept across cycles.
    """

    heartbeats: I32
    jobs_succeeded: I32
    jobs_failed: I32
    sla_violations: I32
    reported_capacity: F32

    @classmethod
    def empty(cls) -> NodeEvidence:
        zeros = np.zeros(0, dtype=np.int32)
        capacity = np.zeros((0, N_RESOURCES), dtype=np.float32)
        return cls(zeros, zeros, zeros, zeros, capacity)


_COUNTS = ("heartbeats", "jobs_succeeded", "jobs_failed", "sla_violations")


GWEI = 10**9


class ClusterState:
    """Nodes, services and replicas of one governance service, as the policy core sees them."""

    def __init__(self, heartbeat_interval_s: float, started_at_s: float) -> None:
        self.heartbeat_interval_s = heartbeat_interval_s
        self.nodes: GrowableTable[NodeTable] = GrowableTable(make_nodes(np.zeros((0, N_RESOURCES))))
        self.replicas: GrowableTable[ReplicaTable] = GrowableTable(make_replicas(np.zeros(0)))
        self.node_specs: list[NodeSpec] = []
        self.node_rows: dict[str, int] = {}
        self.service_specs: list[ServiceSpec] = []
        self.service_rows: dict[int, int] = {}
        self.owner_ids: dict[str, int] = {}
        self._services: ServiceTable = make_services(np.zeros((0, N_RESOURCES)))
        self.history: EvictionHistory = make_history(0)
        self._evidence: GrowableTable[NodeEvidence] = GrowableTable(NodeEvidence.empty())
        self._last_cycle_s = started_at_s
        self.last_plan: CyclePlan | None = None
        self.last_observations: Observations | None = None

    # -- nodes ---------------------------------------------------------------------------------
    def register_node(self, spec: NodeSpec) -> int:
        """Add a node as a newcomer (a new key never inherits reputation); return its row."""
        if spec.address in self.node_rows:
            raise ConflictError(f"node {spec.address} is already registered")
        row = self.nodes.append(
            node_id=len(self.node_specs),
            failure_domain=spec.failure_domain,
            region=spec.region,
            capacity=spec.capacity,
            used=(0.0,) * N_RESOURCES,
            replicas_held=0,
            healthy=True,
            draining=False,
            last_heartbeat_s=spec.joined_at_s,
            reputation=0.0,
            stake_gwei=min(spec.stake_wei // GWEI, np.iinfo(np.int64).max),
            paid_access=False,
            joined_at_s=spec.joined_at_s,
            tier=0,
        )
        self.node_specs.append(spec)
        self.node_rows[spec.address] = row
        self._evidence.append(
            heartbeats=0,
            jobs_succeeded=0,
            jobs_failed=0,
            sla_violations=0,
            reported_capacity=(np.nan,) * N_RESOURCES,
        )
        return row

    def node_row(self, address: str) -> int:
        """Return the row of a registered node."""
        try:
            return self.node_rows[address]
        except KeyError:
            raise UnknownNodeError(f"no node registered as {address}") from None

    def record_heartbeat(self, address: str, beat: Heartbeat, now_s: float) -> None:
        """Store a node's report: usage and health now, evidence for the next reputation update."""
        row = self.node_row(address)
        self.nodes.update(row, used=beat.used, healthy=beat.healthy, last_heartbeat_s=now_s)
        evidence = self._evidence
        evidence.column("heartbeats")[row] += 1
        evidence.column("jobs_succeeded")[row] += beat.jobs_succeeded
        evidence.column("jobs_failed")[row] += beat.jobs_failed
        evidence.column("sla_violations")[row] += beat.sla_violations
        evidence.column("reported_capacity")[row] = beat.reported_capacity

    def set_draining(self, address: str, draining: bool) -> None:
        """Mark a node as leaving: nothing new lands on it."""
        self.nodes.update(self.node_row(address), draining=draining)

    # -- services ------------------------------------------------------------------------------
    def add_service(self, spec: ServiceSpec) -> None:
        """Add a service and one pending replica per desired replica."""
        if spec.service_id in self.service_rows:
            raise ConflictError(f"service {spec.service_id} exists")
        for dep in spec.depends_on:
            if dep not in self.service_rows:
                raise UnknownServiceError(f"dependency {dep} is not a known service")
        row = len(self.service_specs)
        self.service_specs.append(spec)
        self.service_rows[spec.service_id] = row
        self.owner_ids.setdefault(spec.owner, len(self.owner_ids))
        self._services = self._build_services()
        self.history = EvictionHistory(
            window_started_at_s=np.append(self.history.window_started_at_s, 0.0),
            evictions_in_window=np.append(self.history.evictions_in_window, np.int32(0)),
        )
        first_id = len(self.replicas)
        for index in range(spec.replicas):
            self.replicas.append(**_pending_replica(first_id + index, row))

    def service_row(self, service_id: int) -> int:
        """Return the row of a known service."""
        try:
            return self.service_rows[service_id]
        except KeyError:
            raise UnknownServiceError(f"no service with id {service_id}") from None

    def renew(self, service_id: int, paid_until_s: float) -> None:
        """Extend a service's paid period (the owner presented a fresh token)."""
        row = self.service_row(service_id)
        spec = self.service_specs[row]
        later = max(spec.paid_until_s, paid_until_s)
        self.service_specs[row] = dataclasses.replace(spec, paid_until_s=later)

    def refresh_payments(self, now_s: float) -> None:
        """Turn token expiry into the policy's payment signal, as of ``now_s``."""
        for row, spec in enumerate(self.service_specs):
            expired = spec.paid_until_s < now_s
            status = PaymentStatus.TOKEN_EXPIRED if expired else PaymentStatus.PAID
            self._services.payment[row] = int(status)

    def _build_services(self) -> ServiceTable:
        specs = self.service_specs
        return make_services(
            np.array([s.demand for s in specs], dtype=np.float32).reshape(-1, N_RESOURCES),
            service_id=[s.service_id for s in specs],
            owner=[self.owner_ids[s.owner] for s in specs],
            replicas=[s.replicas for s in specs],
            kind=[s.kind for s in specs],
            duration_s=[s.duration_s for s in specs],
            payment=[s.payment for s in specs],
            criticality=[s.criticality for s in specs],
            region=[s.region for s in specs],
            dependencies=[[self.service_rows[d] for d in s.depends_on] for s in specs],
        )

    # -- cycles --------------------------------------------------------------------------------
    def snapshot(self, now_s: float) -> Snapshot:
        """Return the policy's view of the cluster now (copies: the core may keep them).

        ``used`` is the larger of what nodes report and what their replicas were promised: a node
        that under-reports cannot attract more work than fits, one that runs hot still counts hot.
        """
        nodes = self.nodes.view()
        allocated = recompute_usage(nodes, self._services, self.replicas.view())
        nodes = dataclasses.replace(
            allocated, used=np.maximum(nodes.used, allocated.used).astype(np.float32)
        )
        return Snapshot(
            nodes=_copy(nodes),
            services=self._services,
            replicas=_copy(self.replicas.view()),
            history=self.history,
            observations=self._observations(now_s),
        )

    def _observations(self, now_s: float) -> Observations:
        interval_s = max(now_s - self._last_cycle_s, 1e-9)
        expected = max(interval_s / self.heartbeat_interval_s, 1.0)
        evidence = self._evidence.view()
        heartbeats = evidence.heartbeats.astype(np.float32)
        observed = np.full_like(evidence.reported_capacity, np.nan)
        return Observations(
            interval_s=interval_s,
            uptime_fraction=np.minimum(heartbeats / np.float32(expected), np.float32(1.0)),
            jobs_succeeded=evidence.jobs_succeeded.copy(),
            jobs_failed=evidence.jobs_failed.copy(),
            sla_violations=evidence.sla_violations.copy(),
            reported_capacity=evidence.reported_capacity.copy(),
            # The service has no capacity probe yet: NaN means "not probed" to the reputation model.
            observed_capacity=observed,
        )

    def run_cycle(self, params: PolicyParams, now_s: float, rng: np.random.Generator) -> CyclePlan:
        """Run one policy cycle and adopt its resulting state (unless the params say dry-run)."""
        self.refresh_payments(now_s)
        snapshot = self.snapshot(now_s)
        result = run_cycle(snapshot, params, now_s, rng)
        if not result.plan.dry_run:
            self.last_observations = snapshot.observations
            self.nodes.replace(result.snapshot.nodes)
            self.replicas.replace(result.snapshot.replicas)
            self.history = result.snapshot.history
            for name in _COUNTS:
                self._evidence.column(name)[:] = 0
            self._last_cycle_s = now_s
        self.last_plan = result.plan
        return result.plan

    def refresh_allocation(self) -> None:
        """Recount replicas per node from the assignment (after loading it from storage)."""
        allocated = recompute_usage(self.nodes.view(), self._services, self.replicas.view())
        self.nodes.column("replicas_held")[:] = allocated.replicas_held

    def replicas_of(self, service_id: int) -> list[int]:
        """Return the replica rows of a service."""
        row = self.service_row(service_id)
        return [int(i) for i in np.flatnonzero(self.replicas.column("service") == row)]


def _pending_replica(replica_id: int, service_row: int) -> dict[str, object]:
    return {
        "replica_id": replica_id,
        "service": service_row,
        "node": NO_NODE,
        "started_at_s": 0.0,
        "sla_violations": 0,
        "evict_at_s": np.inf,
        "evict_reason": -1,
        "last_evicted_node": NO_NODE,
        "last_evicted_at_s": -np.inf,
        "evictions": 0,
    }


TableT = TypeVar("TableT", NodeTable, ReplicaTable)


def _copy(table: TableT) -> TableT:
    return dataclasses.replace(
        table, **{f.name: getattr(table, f.name).copy() for f in dataclasses.fields(table)}
    )
