"""World dynamics shared by both engines: churn, outages, requests, identities, tasks, growth.

Engines differ only in how they draw behaviour (`Behaviour`): the vectorized engine draws one array
for all slots, the mesa engine lets each agent type draw for its own agents. Everything here is
deterministic given the behaviour and the demand generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from governance.policy.types import NO_NODE, Observations, PaymentStatus, ServiceKind, Tier
from sim.scenario import Scenario
from sim.world import F32, I8, I32, I64, B, NodeKind, World

#: A service whose failed-request share exceeds this in a step violates its SLA.
SLA_FAILED_SHARE = 0.05


@dataclass(frozen=True, slots=True)
class Behaviour:
    """What the operators did this step (drawn by the engine)."""

    leaving: I64  # present slots that leave the network
    joining: I64  # absent slots that join as new identities
    down: B  # present slots unreachable this step (flaky outage)
    failing: B  # slots that fail the work they host this step (Sybils gaming)
    probed: B  # slots whose capacity a probe measured this step


@dataclass(frozen=True, slots=True)
class Served:
    """Outcome of serving one step of requests."""

    requests: int
    requests_failed: int
    sla_violations: int
    availability: float
    replicas_desired: int
    running: int
    adversary_running: int
    jobs_succeeded: I32
    jobs_failed: I32
    node_sla: I32
    batch_provider: I64
    batch_owner: I64
    batch_payer: I64
    batch_count: I64


def target_present(scenario: Scenario, nodes: int, steps: int, step: int) -> int:
    """Network size the growth curve asks for at `step` (linear to nodes * growth_factor)."""
    growth = scenario.churn.growth_factor
    return round(nodes * (1.0 + (growth - 1.0) * min(step + 1, steps) / steps))


def join_count(present_after_leaves: int, target: int) -> int:
    """Joins this step: new identities replace leavers and grow the network to the target."""
    return max(0, target - present_after_leaves)


def free_slots(world: World) -> I64:
    """Absent slots with nothing assigned (safe to hand to a new identity)."""
    nodes = world.snapshot.nodes
    return np.flatnonzero(~world.present & (nodes.replicas_held == 0)).astype(np.int64)


def drop_replicas(world: World, slots: I64) -> int:
    """Unassign every replica on `slots` (the machine vanished); return how many."""
    if slots.size == 0:
        return 0
    snap = world.snapshot
    mask = np.zeros(world.slots, dtype=np.bool_)
    mask[slots] = True
    node = snap.replicas.node
    hit = np.flatnonzero((node >= 0) & mask[np.maximum(node, 0)])
    _unassign(world, hit)
    return int(hit.size)


def _unassign(world: World, replicas: I64) -> None:
    snap = world.snapshot
    if replicas.size == 0:
        return
    nodes_of = snap.replicas.node[replicas]
    demand = snap.services.demand[snap.replicas.service[replicas]]
    np.subtract.at(snap.nodes.used, nodes_of, demand)
    np.subtract.at(snap.nodes.replicas_held, nodes_of, 1)
    np.maximum(snap.nodes.used, 0, out=snap.nodes.used)
    snap.replicas.node[replicas] = NO_NODE
    snap.replicas.evict_at_s[replicas] = np.inf
    snap.replicas.evict_reason[replicas] = -1


def new_identities(world: World, slots: I64, now_s: float, initial_reputation: float) -> None:
    """Give `slots` fresh keys: newcomers with no tenure (Sybil rejoin or a new node)."""
    nodes = world.snapshot.nodes
    count = slots.size
    nodes.node_id[slots] = np.arange(world.next_identity, world.next_identity + count)
    world.next_identity += count
    nodes.joined_at_s[slots] = now_s
    nodes.reputation[slots] = initial_reputation
    nodes.tier[slots] = Tier.NEWCOMER


def apply_behaviour(world: World, behaviour: Behaviour, now_s: float, initial_rep: float) -> None:
    """Churn, joins and reachability: what heartbeats the network sees this step."""
    nodes = world.snapshot.nodes
    world.present[behaviour.leaving] = False
    world.present[behaviour.joining] = True
    new_identities(world, behaviour.joining, now_s, initial_rep)
    up = world.present & ~behaviour.down
    world.up = up
    nodes.last_heartbeat_s[up] = now_s


def activate_services(world: World, scenario: Scenario, max_nodes: int) -> None:
    """Services arrive with the network (growth): the first k rows are active and paying."""
    present = int(world.present.sum()) if scenario.churn.growth_factor > 1 else max_nodes
    m = world.service_active.size
    k = max(4, min(m, int(np.ceil(m * present / max_nodes))))
    if k > int(world.service_active.sum()):
        world.service_active[:k] = True
        world.snapshot.services.payment[:k] = PaymentStatus.PAID


def _first_of_group(service_of_running: I32) -> B:
    """True at the first running replica of each service (rows are grouped by service)."""
    first = np.empty(service_of_running.size, dtype=np.bool_)
    if first.size:
        first[0] = True
        np.not_equal(service_of_running[1:], service_of_running[:-1], out=first[1:])
    return first


def draw_requests(rng: np.random.Generator, lam: NDArray[np.float32]) -> I64:
    """Requests per service: Poisson(lam), drawn as its normal approximation N(lam, lam) rounded.

    numpy's Poisson sampler costs ~200 ns a draw; the normal one ~10 ns, and at the scenario rates
    (tens of requests per service and step) the two laws are close.
    """
    noise = rng.standard_normal(lam.size, dtype=np.float32)
    counts: I64 = np.rint(np.maximum(lam + np.sqrt(lam) * noise, 0.0)).astype(np.int64)
    return counts


def serve(
    world: World,
    scenario: Scenario,
    step: int,
    behaviour: Behaviour,
    demand_rng: np.random.Generator,
) -> Served:
    """Route this step's requests to running replicas; count failures, SLA, jobs and payments."""
    snap = world.snapshot
    reps, nodes = snap.replicas, snap.nodes
    m = world.service_active.size
    overloaded = nodes.used[:, 0] > world.true_capacity[:, 0] * 1.0001
    node_ok = world.up & ~behaviour.failing & ~overloaded
    running = np.flatnonzero(reps.node >= 0)
    svc = reps.service[running]
    on = reps.node[running]
    ok = node_ok[on]
    n_running = np.maximum(np.bincount(svc, minlength=m), 1)
    n_ok = np.bincount(svc[ok], minlength=m)
    desired = np.where(world.service_active, snap.services.replicas, 0)
    lam = np.float32(scenario.demand.requests_per_service_step * _demand_multiplier(scenario, step))
    req = np.where(world.service_active, draw_requests(demand_rng, lam * world.service_weight), 0)
    # Split evenly over running replicas; the first running replica takes the remainder.
    quotient, remainder = np.divmod(req, n_running)
    share = quotient[svc] + _first_of_group(svc) * remainder[svc]
    served = np.where(ok, share, 0)
    failed_s = req - np.bincount(svc, weights=served, minlength=m).astype(np.int64)
    sla = (failed_s > SLA_FAILED_SHARE * req) | (n_ok * 2 < desired)
    sla &= world.service_active
    _track_replica_sla(world, running, ok)
    jobs_ok, jobs_bad, node_sla = _node_outcomes(world, on, ok, sla[svc])
    wash = _wash(world, scenario, on, ok)
    np.add.at(jobs_ok, wash[0], 1)  # wash trades look like successful jobs to the network
    batches = _payments(world, svc, on, ok, served, wash)
    total_desired = int(desired.sum())
    return Served(
        requests=int(req.sum()),
        requests_failed=int(failed_s.sum()),
        sla_violations=int(sla.sum()),
        availability=float(np.minimum(n_ok, desired).sum() / max(total_desired, 1)),
        replicas_desired=total_desired,
        running=int(running.size),
        adversary_running=int(np.count_nonzero(world.adversarial[on])),
        jobs_succeeded=jobs_ok,
        jobs_failed=jobs_bad,
        node_sla=node_sla,
        batch_provider=batches[0],
        batch_owner=batches[1],
        batch_payer=batches[2],
        batch_count=batches[3],
    )


def _node_outcomes(world: World, on: I32, ok: B, service_sla: B) -> tuple[I32, I32, I32]:
    """Per node: replicas that served, replicas that failed, failed ones whose service broke SLA."""
    slots = world.slots
    jobs = np.bincount(on.astype(np.int64) * 2 + ok, minlength=2 * slots).astype(np.int32)
    node_sla = np.bincount(on[~ok & service_sla], minlength=slots).astype(np.int32)
    return jobs[1::2].copy(), jobs[0::2].copy(), node_sla


def _payments(
    world: World, svc: I32, on: I32, ok: B, served: I64, wash: tuple[I64, I64, I64, I64]
) -> tuple[I64, I64, I64, I64]:
    """Request batches (provider, owner, payer, count), ring wash trades included."""
    paid = ok & (served > 0)
    provider = on[paid].astype(np.int64)
    owner = world.service_owner_account[svc[paid]]
    payer = world.requestor_base + svc[paid].astype(np.int64) % world.requestors
    count = served[paid].astype(np.int64)
    if wash[0].size == 0:
        return provider, owner, payer, count
    return (
        np.concatenate([provider, wash[0]]),
        np.concatenate([owner, wash[1]]),
        np.concatenate([payer, wash[2]]),
        np.concatenate([count, wash[3]]),
    )


def _track_replica_sla(world: World, running: I64, ok: B) -> None:
    """Recent SLA violations per replica (a policy input): +1 on a failed step, -1 on a good one."""
    violations = world.snapshot.replicas.sla_violations
    violations[running[~ok]] += 1
    good = running[ok]
    violations[good] = np.maximum(violations[good] - 1, 0)


def _wash(world: World, scenario: Scenario, on: I32, ok: B) -> tuple[I64, I64, I64, I64]:
    """Colluding rings route fake requests to replicas their members host and pay themselves.

    The host's own account pays, gets the provider share back and earns the job successes that feed
    its reputation; the protocol fee and the owner share are what the wash trade costs.
    """
    hosts = on[ok & (world.kind[on] == NodeKind.RING)].astype(np.int64)
    count = np.full(hosts.size, scenario.adversaries.ring_wash_requests, dtype=np.int64)
    return hosts, hosts, hosts, count


def _demand_multiplier(scenario: Scenario, step: int) -> float:
    mult = 1.0
    crowd = scenario.flash_crowd
    if crowd and crowd.start_step <= step < crowd.start_step + crowd.duration_steps:
        mult *= crowd.multiplier
    shock = scenario.economic_shock
    if shock and shock.start_step <= step < shock.start_step + shock.duration_steps:
        mult *= shock.demand_multiplier
    return mult


def observations(
    world: World, behaviour: Behaviour, served: Served | None, interval_s: float
) -> Observations:
    """What the network measured per node since the last cycle: the reputation inputs."""
    nodes = world.snapshot.nodes
    observed = np.full(nodes.capacity.shape, np.nan, dtype=np.float32)
    probed = behaviour.probed & world.up
    observed[probed] = world.true_capacity[probed]
    zeros = np.zeros(world.slots, dtype=np.int32)
    return Observations(
        interval_s=interval_s,
        uptime_fraction=world.up.astype(np.float32),
        jobs_succeeded=served.jobs_succeeded if served is not None else zeros,
        jobs_failed=served.jobs_failed if served is not None else zeros,
        sla_violations=served.node_sla if served is not None else zeros,
        reported_capacity=nodes.capacity,
        observed_capacity=observed,
    )


def finish_tasks(world: World) -> I64:
    """Tasks that ran their duration complete and respawn (to be placed again); return them."""
    snap = world.snapshot
    reps = snap.replicas
    task_rows = np.flatnonzero(snap.services.kind[reps.service] == ServiceKind.TASK)
    running = task_rows[reps.node[task_rows] >= 0]
    on_healthy = running[world.up[reps.node[running]]]
    svc = reps.service[on_healthy]
    world.task_remaining_steps[svc] -= 1
    done = on_healthy[world.task_remaining_steps[svc] <= 0]
    world.task_remaining_steps[reps.service[done]] = snap.services.duration_s[reps.service[done]]
    _unassign(world, done.astype(np.int64))
    return done.astype(np.int64)


def sybils_to_cycle(world: World, threshold: float) -> I64:
    """Sybil slots whose reputation fell below `threshold`: they drop the key and rejoin."""
    nodes = world.snapshot.nodes
    sybil = world.present & (world.kind == NodeKind.SYBIL)
    return np.flatnonzero(sybil & (nodes.reputation < threshold)).astype(np.int64)


def mean_by_kind(kind: I8, values: F32) -> NDArray[np.float64]:
    """Mean of a per-slot value per `NodeKind` over the given slots (NaN where none)."""
    counts = np.bincount(kind, minlength=len(NodeKind))
    sums = np.bincount(kind, weights=values, minlength=len(NodeKind))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
