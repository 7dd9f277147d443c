"""The simulated world: the policy core's own snapshot columns plus the simulator's hidden truth.

Both engines own exactly this state. The policy sees `World.snapshot` (node, service and replica
tables of `governance.policy.types`), which is what a real network service would know: reported
capacity, heartbeats, reputation. The simulator also knows the truth the policy must infer: each
slot's behaviour (`kind`), true capacity, ring membership. A node *slot* is a machine; its identity
(`node_id`) changes when a Sybil drops its key or a new node reuses a free slot. Token-book account
rows: slots first, then service owners, then requestors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

from governance.policy.types import (
    N_RESOURCES,
    NO_NODE,
    NO_REGION,
    Criticality,
    EvictionHistory,
    NodeTable,
    PaymentStatus,
    ReplicaTable,
    ServiceKind,
    ServiceTable,
    Snapshot,
    Tier,
)
from sim.scenario import Scenario, Sizes

I8 = NDArray[np.int8]
I32 = NDArray[np.int32]
I64 = NDArray[np.int64]
F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
B = NDArray[np.bool_]

CPU_CHOICES_MILLICORES = np.array([2_000, 4_000, 8_000, 16_000], dtype=np.float32)
MEMORY_MIB_PER_CORE = 4_096.0
DISK_MIB_PER_CORE = 50_000.0
ZONES_PER_REGION = 4
DAY_S = 86_400.0


class NodeKind(IntEnum):
    """Behaviour of the operator behind a node slot (hidden from the policy)."""

    HONEST = 0
    FLAKY = 1
    LIAR = 2
    SYBIL = 3
    RING = 4


#: Bits of `World.kind_bits` (bit 0 is left for the per-step "node serves" flag of `dynamics`).
ADVERSARIAL_BIT = np.uint8(2)
RING_BIT = np.uint8(4)

KIND_NAMES = tuple(k.name.lower() for k in NodeKind)
ADVERSARIAL = np.array([False, False, True, True, True])  # indexed by NodeKind


@dataclass(slots=True)
class World:
    """Policy snapshot plus hidden truth and driver-side bookkeeping."""

    snapshot: Snapshot
    step_s: float
    kind: I8
    present: B
    up: B  # truth: present and reachable this step (the policy only sees heartbeats)
    true_capacity: F32  # (n, R); reported capacity lives in snapshot.nodes.capacity
    # Whole CPU cores a slot reports (what contribution rewards pay for); uint8 when every count
    # fits a byte (the capacity pass then reads 10 MB at 1e7 slots instead of 80), else int64.
    reported_cores: NDArray[np.uint8] | I64
    adversarial: B  # liar, Sybil or ring operator (kinds never change per slot)
    ring: I32  # ring id per slot, -1 = none
    service_active: B  # arrived (growth) and paying
    service_weight: F32  # share of request demand
    service_owner_account: I64
    task_remaining_steps: I32  # steps until a task completes (counts down while it runs)
    task_duration_steps: I32  # a task's `duration_s` in steps (0 for a long-lived service)
    replica_last_evictions: NDArray[np.int64]  # (r, 3): steps of the last three evictions
    owners: int
    requestors: int
    next_identity: int
    # Static per-slot and per-replica facts, derived once (kinds, true capacity, the replica ->
    # service map and owners never change), so a step reads them instead of recomputing them.
    true_cpu_millicores: F32  # true_capacity[:, 0], contiguous
    cpu_overload_millicores: F32  # true CPU x 1.0001: above it a node is overloaded
    adversarial_slots: I64  # rows of `adversarial`
    sybil_slots: I64  # rows of Sybil operators
    kind_bits: NDArray[np.uint8]  # ADVERSARIAL_BIT | RING_BIT per slot
    replica_owner_account: I64  # token account of each replica's service owner
    replica_payer_account: I64  # requestor account paying each replica's requests
    service_first_replica: I64  # first replica row of each service (rows are grouped by service)
    task_replicas: I64  # replica rows of task services
    task_services: I32  # their services (a task service has one replica row)
    replica_share_slot: I64  # 2 * service, + 1 on each service's first row (see `dynamics`)
    buffers: dict[str, np.ndarray] = field(default_factory=dict, init=False)

    def buffer(self, name: str, size: int, dtype: type) -> np.ndarray:
        """A reusable step buffer (a fresh 1e7-row array costs more in page faults than in work).

        Its content is overwritten the next time the same ``name`` is asked for: use it only for
        values consumed before then.
        """
        out = self.buffers.get(name)
        if out is None or out.shape[0] != size or out.dtype != dtype:
            out = self.buffers[name] = np.empty(size, dtype=dtype)
        return out

    @property
    def slots(self) -> int:
        return int(self.kind.size)

    @property
    def requestor_base(self) -> int:
        return self.slots + self.owners

    @property
    def accounts(self) -> int:
        return self.slots + self.owners + self.requestors


def slot_capacity(scenario: Scenario, sizes: Sizes) -> int:
    """Rows to allocate: the largest the network can get (growth plus join headroom)."""
    return int(np.ceil(sizes.nodes * scenario.churn.growth_factor * 1.05)) + 8


def _kinds(rng: np.random.Generator, n: int, scenario: Scenario) -> I8:
    adv = scenario.adversaries
    shares = np.array([0.0, adv.flaky, adv.liar, adv.sybil, adv.ring])
    shares[0] = max(1.0 - shares[1:].sum(), 0.0)
    return rng.choice(np.arange(5, dtype=np.int8), size=n, p=shares / shares.sum())


def _node_table(
    rng: np.random.Generator,
    n: int,
    sizes: Sizes,
    true_cap: F32,
    kind: I8,
    present: B,
    overreport: float,
) -> NodeTable:
    reported = true_cap.copy()
    liar = kind == NodeKind.LIAR
    reported[liar, 0] *= np.float32(overreport)
    region = rng.integers(0, sizes.regions, size=n, dtype=np.int32)
    zone = rng.integers(0, ZONES_PER_REGION, size=n, dtype=np.int32)
    # The network has been running: tenure up to 30 days, reputation from a good history.
    joined = -rng.random(n) * 30 * DAY_S
    reputation = rng.uniform(0.5, 0.9, size=n).astype(np.float32)
    return NodeTable(
        node_id=np.arange(n, dtype=np.int64),
        failure_domain=region * ZONES_PER_REGION + zone,
        region=region,
        capacity=reported,
        used=np.zeros((n, N_RESOURCES), dtype=np.float32),
        replicas_held=np.zeros(n, dtype=np.int32),
        # No health checker besides heartbeats: the network learns of outages through the TTL.
        healthy=np.ones(n, dtype=np.bool_),
        draining=np.zeros(n, dtype=np.bool_),
        last_heartbeat_s=np.where(present, 0.0, -1e12),
        reputation=np.where(present, reputation, 0.0).astype(np.float32),
        stake_gwei=np.zeros(n, dtype=np.int64),
        paid_access=np.zeros(n, dtype=np.bool_),
        joined_at_s=joined,
        tier=np.where(reputation >= 0.5, Tier.ESTABLISHED, Tier.NEWCOMER).astype(np.int8),
    )


def _dependencies(rng: np.random.Generator, m: int, mean: float) -> tuple[I64, I32]:
    """A DAG: service i depends only on services with a smaller row (no cycles)."""
    counts = np.minimum(rng.poisson(mean, size=m), np.arange(m)).astype(np.int64)
    indptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    src = np.repeat(np.arange(m, dtype=np.int64), counts)
    targets = (rng.random(int(indptr[-1])) * np.maximum(src, 1)).astype(np.int32)
    return indptr, targets


def _service_table(rng: np.random.Generator, m: int, scenario: Scenario) -> ServiceTable:
    demand = scenario.demand
    kind = (rng.random(m) < demand.task_share).astype(np.int8)
    per_replica = np.zeros((m, N_RESOURCES), dtype=np.float32)
    cores = demand.cpu_per_replica_millicores / 1000.0
    per_replica[:, 0] = demand.cpu_per_replica_millicores
    per_replica[:, 1] = cores * MEMORY_MIB_PER_CORE / 2
    per_replica[:, 2] = cores * DISK_MIB_PER_CORE / 4
    indptr, indices = _dependencies(rng, m, demand.dependencies_mean)
    criticality = rng.choice(
        np.array([Criticality.LOW, Criticality.NORMAL, Criticality.HIGH], dtype=np.int8),
        size=m,
        p=[0.5, 0.35, 0.15],
    )
    return ServiceTable(
        service_id=np.arange(m, dtype=np.int64),
        owner=rng.integers(0, max(1, m // 4), size=m, dtype=np.int64),
        demand=per_replica,
        replicas=np.where(kind == ServiceKind.TASK, 1, demand.replicas).astype(np.int32),
        kind=kind,
        duration_s=np.where(
            kind == ServiceKind.TASK, demand.task_duration_steps * scenario.step_s, 0.0
        ).astype(np.float32),
        payment=np.full(m, PaymentStatus.UNPAID, dtype=np.int8),
        criticality=criticality,
        region=np.full(m, NO_REGION, dtype=np.int32),
        dep_indptr=indptr,
        dep_indices=indices,
    )


def _replica_table(services: ServiceTable) -> ReplicaTable:
    r = int(services.replicas.sum())
    inf = np.full(r, np.inf)
    return ReplicaTable(
        replica_id=np.arange(r, dtype=np.int64),
        service=np.repeat(np.arange(services.size, dtype=np.int32), services.replicas),
        node=np.full(r, NO_NODE, dtype=np.int32),
        started_at_s=np.zeros(r),
        sla_violations=np.zeros(r, dtype=np.int32),
        evict_at_s=inf,
        evict_reason=np.full(r, -1, dtype=np.int8),
        last_evicted_node=np.full(r, NO_NODE, dtype=np.int32),
        last_evicted_at_s=np.full(r, -np.inf),
        evictions=np.zeros(r, dtype=np.int32),
    )


def _rings(kind: I8, ring_size: int) -> I32:
    """Ring id per slot: consecutive ring members form rings of `ring_size` (-1 = not in a ring)."""
    ring = np.full(kind.size, -1, dtype=np.int32)
    members = np.flatnonzero(kind == NodeKind.RING)
    ring[members] = np.arange(members.size, dtype=np.int32) // ring_size
    return ring


def generate_world(rng: np.random.Generator, scenario: Scenario, sizes: Sizes) -> World:
    """The initial world of a run, identical for both engines given the same generator."""
    n = slot_capacity(scenario, sizes)
    kind = _kinds(rng, n, scenario)
    present = np.zeros(n, dtype=np.bool_)
    present[: sizes.nodes] = True
    cores = rng.choice(CPU_CHOICES_MILLICORES, size=n) / 1000.0
    true_cap = np.stack(
        [cores * 1000.0, cores * MEMORY_MIB_PER_CORE, cores * DISK_MIB_PER_CORE], axis=1
    ).astype(np.float32)
    nodes = _node_table(
        rng, n, sizes, true_cap, kind, present, scenario.adversaries.liar_overreport
    )
    m = max(4, int(sizes.nodes * scenario.churn.growth_factor * sizes.services_per_100_nodes / 100))
    services = _service_table(rng, m, scenario)
    replicas = _replica_table(services)
    duration = scenario.demand.task_duration_steps
    world = World(
        snapshot=Snapshot(
            nodes=nodes,
            services=services,
            replicas=replicas,
            history=EvictionHistory(
                window_started_at_s=np.zeros(m), evictions_in_window=np.zeros(m, dtype=np.int32)
            ),
        ),
        step_s=scenario.step_s,
        kind=kind,
        present=present,
        up=present.copy(),
        true_capacity=true_cap,
        reported_cores=_narrowest_counts((nodes.capacity[:, 0] // 1000).astype(np.int64)),
        adversarial=ADVERSARIAL[kind],
        ring=_rings(kind, scenario.adversaries.ring_size),
        service_active=np.zeros(m, dtype=np.bool_),
        service_weight=rng.gamma(2.0, 0.5, size=m).astype(np.float32),
        service_owner_account=n + services.owner,
        # The network has been running: each task is part-way through its run, so tasks finish
        # spread over their duration instead of all together every `task_duration_steps` steps.
        task_remaining_steps=np.where(
            services.kind == ServiceKind.TASK, rng.integers(1, duration + 1, size=m), -1
        ).astype(np.int32),
        task_duration_steps=np.where(services.kind == ServiceKind.TASK, duration, 0).astype(
            np.int32
        ),
        replica_last_evictions=np.full((replicas.size, 3), -(10**9), dtype=np.int64),
        owners=max(1, m // 4),
        requestors=sizes.requestors,
        next_identity=n,
        **_derived(kind, true_cap, services, replicas, n, sizes.requestors),
    )
    return world


def _narrowest_counts(counts: I64) -> NDArray[np.uint8] | I64:
    """``counts`` as uint8 when every one lies in [0, 255], else as they are."""
    if counts.size == 0 or (counts.min() >= 0 and counts.max() <= 255):
        return counts.astype(np.uint8)
    return counts


def _derived(
    kind: I8, true_cap: F32, services: ServiceTable, replicas: ReplicaTable, n: int, requestors: int
) -> dict[str, np.ndarray]:
    """The static `World` columns derived from the generated tables."""
    bits = ADVERSARIAL[kind].astype(np.uint8) * ADVERSARIAL_BIT
    bits |= (kind == NodeKind.RING).astype(np.uint8) * RING_BIT
    service = replicas.service.astype(np.int64)
    first = np.zeros(services.size, dtype=np.int64)
    np.cumsum(services.replicas[:-1], out=first[1:])
    tasks = np.flatnonzero(services.kind[service] == ServiceKind.TASK)
    return {
        "true_cpu_millicores": np.ascontiguousarray(true_cap[:, 0]),
        "cpu_overload_millicores": true_cap[:, 0] * 1.0001,
        "adversarial_slots": np.flatnonzero(ADVERSARIAL[kind]).astype(np.int64),
        "sybil_slots": np.flatnonzero(kind == NodeKind.SYBIL).astype(np.int64),
        "kind_bits": bits,
        "replica_owner_account": n + services.owner[service],
        "replica_payer_account": n + max(1, services.size // 4) + service % requestors,
        "service_first_replica": first,
        "task_replicas": tasks,
        "task_services": replicas.service[tasks],
        "replica_share_slot": 2 * service + (np.arange(service.size) == first[service]),
    }
