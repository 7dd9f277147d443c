"""World dynamics shared by both engines: churn, outages, requests, identities, tasks, growth.

Engines differ only in how they draw behaviour (`Behaviour`): the vectorized engine draws one array
for all slots, the mesa engine lets each agent type draw for its own agents. Everything here is
deterministic given the behaviour and the demand generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from governance.policy.types import NO_NODE, Observations, PaymentStatus, Tier
from sim.scenario import Scenario
from sim.world import ADVERSARIAL_BIT, F32, I8, I32, I64, RING_BIT, B, NodeKind, World

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
    """Outcome of serving one step of requests.

    Request batches: one per replica row (0 requests where it did not serve), then one per ring
    wash trade. The per-node arrays are reused step buffers, valid until the next `serve`.
    """

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
    adversary_batches: I64  # batch rows whose provider is adversarial


def target_present(scenario: Scenario, nodes: int, steps: int, step: int) -> int:
    """Network size the growth curve asks for at `step` (linear to nodes * growth_factor)."""
    growth = scenario.churn.growth_factor
    return round(nodes * (1.0 + (growth - 1.0) * min(step + 1, steps) / steps))


def join_count(present_after_leaves: int, target: int) -> int:
    """Joins this step: new identities replace leavers and grow the network to the target."""
    return max(0, target - present_after_leaves)


def free_slots(world: World) -> I64:
    """Absent slots with nothing assigned (safe to hand to a new identity)."""
    absent = np.flatnonzero(~world.present)  # a few percent of the slots
    out: I64 = absent[world.snapshot.nodes.replicas_held[absent] == 0].astype(np.int64)
    return out


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
    present = (
        int(np.count_nonzero(world.present)) if scenario.churn.growth_factor > 1 else max_nodes
    )
    m = world.service_active.size
    k = max(4, min(m, int(np.ceil(m * present / max_nodes))))
    if k > int(world.service_active.sum()):
        world.service_active[:k] = True
        world.snapshot.services.payment[:k] = PaymentStatus.PAID


def draw_requests(rng: np.random.Generator, lam: NDArray[np.float32]) -> I64:
    """Requests per service: Poisson(lam), drawn as its normal approximation N(lam, lam) rounded.

    numpy's Poisson sampler costs ~200 ns a draw; the normal one ~10 ns, and at the scenario rates
    (tens of requests per service and step) the two laws are close.
    """
    noise = rng.standard_normal(lam.size, dtype=np.float32)
    draws = np.sqrt(lam)
    draws *= noise
    draws += lam
    draws[draws < 0] = 0  # max(draw, 0): few rows, and numpy's max against a scalar is slow
    np.rint(draws, out=draws)
    counts: I64 = draws.astype(np.int64)
    return counts


def serve(
    world: World,
    scenario: Scenario,
    step: int,
    behaviour: Behaviour,
    demand_rng: np.random.Generator,
) -> Served:
    """Route this step's requests to running replicas; count failures, SLA, jobs and payments.

    A step touches each replica row a few times (one gather of a per-node code, per-service sums
    from the few replicas that do not serve) and each node row a few times; per-node job counts
    come from the policy's ``replicas_held`` (every replica a node holds shares its fate).
    """
    snap = world.snapshot
    reps, services = snap.replicas, snap.services
    m = world.service_active.size
    ok_node, code = _node_codes(world, behaviour)
    on = reps.node
    rep_code = code[on]  # NO_NODE (-1) reads the sentinel 0: pending rows never serve
    ok = (rep_code & np.uint8(1)).view(np.bool_)
    bad = np.flatnonzero(~ok)  # pending or on a node that fails: few rows
    bad_svc = reps.service[bad]
    bad_running = on[bad] >= 0
    n_ok = services.replicas - np.bincount(bad_svc, minlength=m)
    n_running = services.replicas - np.bincount(bad_svc[~bad_running], minlength=m)
    np.maximum(n_running, 1, out=n_running)
    desired = services.replicas * world.service_active  # (np.where with a scalar is slow)
    lam = np.float32(scenario.demand.requests_per_service_step * _demand_multiplier(scenario, step))
    req = draw_requests(demand_rng, lam * world.service_weight)
    if not world.service_active.all():  # growth: services not yet arrived send nothing
        req[~world.service_active] = 0
    # Split evenly over running replicas; the first running replica takes the remainder.
    quotient, remainder = np.divmod(req, n_running)
    first, moved = _first_running(world, bad[~bad_running], bad_svc[~bad_running])
    first_ok = ok[first]
    extra = remainder * first_ok
    served = _shares(world, quotient, extra, first, moved)
    served[~ok] = 0
    total_served = quotient * n_ok + extra
    failed_s = req - total_served
    sla = (failed_s > SLA_FAILED_SHARE * req) | (n_ok * 2 < desired)
    sla &= world.service_active
    failed_rows = bad[bad_running]
    _track_replica_sla(world, ok, failed_rows)
    jobs_ok, jobs_bad, node_sla = _node_outcomes(
        world, ok_node, on[failed_rows], sla[bad_svc[bad_running]]
    )
    wash = _wash(scenario, on, rep_code)
    np.add.at(jobs_ok, wash[0], 1)  # wash trades look like successful jobs to the network
    batches = _payments(world, on, served, wash)
    adversary_rows = np.flatnonzero(rep_code & ADVERSARIAL_BIT)  # running on adversarial slots
    total_desired = int(desired.sum())
    return Served(
        requests=int(req.sum()),
        requests_failed=int(failed_s.sum()),
        sla_violations=int(np.count_nonzero(sla)),
        availability=float(np.minimum(n_ok, desired).sum() / max(total_desired, 1)),
        replicas_desired=total_desired,
        running=int(on.size - np.count_nonzero(~bad_running)),
        adversary_running=int(adversary_rows.size),
        jobs_succeeded=jobs_ok,
        jobs_failed=jobs_bad,
        node_sla=node_sla,
        batch_provider=batches[0],
        batch_owner=batches[1],
        batch_payer=batches[2],
        batch_count=batches[3],
        adversary_batches=np.concatenate([adversary_rows, on.size + np.arange(wash[0].size)]),
    )


def _node_codes(world: World, behaviour: Behaviour) -> tuple[B, NDArray[np.uint8]]:
    """Per slot: does it serve this step (bool), and bit 0 = serves | its kind bits, plus a 0 row.

    The extra last row makes ``code[NO_NODE]`` a node that neither serves nor is adversarial.
    """
    nodes = world.snapshot.nodes
    n = world.slots
    ok = world.buffer("node_ok", n, np.bool_)
    np.greater(nodes.used[:, 0], world.cpu_overload_millicores, out=ok)  # overloaded
    np.logical_not(ok, out=ok)
    ok &= world.up
    ok &= ~behaviour.failing
    code = world.buffer("node_code", n + 1, np.uint8)
    np.bitwise_or(world.kind_bits, ok.view(np.uint8), out=code[:-1])
    code[-1] = 0
    return ok, code


def _first_running(world: World, pending: I64, pending_svc: I32) -> tuple[I64, I64]:
    """First running replica row of every service, and the services where it is not the first row.

    A service with no running replica gets its first row (pending: it serves nothing anyway).
    """
    first = world.service_first_replica.copy()
    if pending.size == 0:
        return first, np.zeros(0, dtype=np.int64)
    node = world.snapshot.replicas.node
    replicas = world.snapshot.services.replicas
    # Only services whose first row is pending need a search (a few): walk their rows.
    svc = np.unique(pending_svc[pending == first[pending_svc]])
    moved = svc.astype(np.int64)
    for k in range(1, int(replicas[svc].max(initial=1))):
        svc = svc[k < replicas[svc]]
        svc = svc[node[first[svc]] < 0]  # still pending: try the next row
        first[svc] += 1
    return first, moved[first[moved] != world.service_first_replica[moved]]


def _shares(world: World, quotient: I64, extra: I64, first: I64, moved: I64) -> I64:
    """Requests per replica row: the quotient, plus ``extra`` on each service's first running row.

    One streaming gather from a per-service (quotient, quotient + extra) table instead of a
    scatter into the first rows: `World.replica_share_slot` points each row at its service's
    pair (odd slot for the service's first row); services whose first running row is a later row
    (``moved``) are re-pointed for the gather and restored after it.
    """
    table = np.empty(2 * quotient.size, dtype=np.int64)
    table[0::2] = quotient
    np.add(quotient, extra, out=table[1::2])
    slot = world.replica_share_slot
    static_first = world.service_first_replica[moved]
    slot[static_first] -= 1
    slot[first[moved]] += 1
    out = world.buffer("served", slot.size, np.int64)
    np.take(table, slot, out=out)
    slot[first[moved]] -= 1
    slot[static_first] += 1
    return out


def _node_outcomes(world: World, ok_node: B, failed_on: I32, failed_sla: B) -> tuple[I32, I32, I32]:
    """Per node: replicas that served, replicas that failed, failed ones whose service broke SLA.

    The arrays are reused step buffers: they are read by the next step's observations, before the
    next `serve` overwrites them.
    """
    n = world.slots
    held = world.snapshot.nodes.replicas_held
    jobs_ok = np.multiply(held, ok_node, out=world.buffer("jobs_ok", n, np.int32))
    jobs_bad = np.subtract(held, jobs_ok, out=world.buffer("jobs_bad", n, np.int32))
    node_sla = world.buffers.get("node_sla")
    if node_sla is None or node_sla.shape[0] != n:
        node_sla = world.buffers["node_sla"] = np.zeros(n, dtype=np.int32)
    else:  # only last step's failed nodes can be non-zero
        node_sla[world.buffers["node_sla_rows"]] = 0
    rows = failed_on[failed_sla].astype(np.intp)  # add.at is ~2x faster with intp indices
    np.add.at(node_sla, rows, 1)
    world.buffers["node_sla_rows"] = rows
    return jobs_ok, jobs_bad, node_sla


def _payments(
    world: World, on: I32, served: I64, wash: tuple[I64, I64, I64, I64]
) -> tuple[I64, I64, I64, I64]:
    """Request batches (provider, owner, payer, count): one per replica row, wash trades appended.

    Rows that served nothing (pending, failed or no request) are batches of 0 requests, which the
    economics step ignores; keeping every row avoids compacting five replica-length columns.
    """
    provider = world.buffer("batch_provider", on.size, np.int64)
    np.maximum(on, 0, out=provider)
    owner, payer = world.replica_owner_account, world.replica_payer_account
    if wash[0].size == 0:
        return provider, owner, payer, served
    return (
        np.concatenate([provider, wash[0]]),
        np.concatenate([owner, wash[1]]),
        np.concatenate([payer, wash[2]]),
        np.concatenate([served, wash[3]]),
    )


def _track_replica_sla(world: World, ok: B, failed: I64) -> None:
    """Recent SLA violations per replica (a policy input): +1 on a failed step, -1 on a good one."""
    violations = world.snapshot.replicas.sla_violations
    recovering = np.flatnonzero(violations > 0)  # few rows: only these can count down
    recovering = recovering[ok[recovering]]
    violations[recovering] -= 1
    violations[failed] += 1


def _wash(scenario: Scenario, on: I32, rep_code: NDArray[np.uint8]) -> tuple[I64, I64, I64, I64]:
    """Colluding rings route fake requests to replicas their members host and pay themselves.

    The host's own account pays, gets the provider share back and earns the job successes that feed
    its reputation; the protocol fee and the owner share are what the wash trade costs.
    """
    serving_ring = np.uint8(1) | RING_BIT
    hosts = on[(rep_code & serving_ring) == serving_ring].astype(np.int64)
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
    """What the network measured per node since the last cycle: the reputation inputs.

    Probes reach a tenth of the nodes, so their measurements go in the sparse form (probed rows
    and their observed capacity) instead of an (n, R) table that is mostly NaN.
    """
    nodes = world.snapshot.nodes
    probed = np.flatnonzero(behaviour.probed & world.up)
    uptime = world.buffer("uptime_fraction", world.slots, np.float32)
    np.copyto(uptime, world.up)
    zeros = np.zeros(world.slots if served is None else 0, dtype=np.int32)
    return Observations(
        interval_s=interval_s,
        uptime_fraction=uptime,
        jobs_succeeded=served.jobs_succeeded if served is not None else zeros,
        jobs_failed=served.jobs_failed if served is not None else zeros,
        sla_violations=served.node_sla if served is not None else zeros,
        reported_capacity=nodes.capacity,
        observed_capacity=np.take(world.true_capacity, probed, axis=0),
        observed_rows=probed.astype(np.int64),
    )


def finish_tasks(world: World) -> I64:
    """Tasks that ran their duration complete and respawn (to be placed again); return them."""
    snap = world.snapshot
    reps = snap.replicas
    task_rows = world.task_replicas
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
    slots = world.sybil_slots  # kinds never change per slot: look at the Sybil rows only
    low = world.present[slots] & (world.snapshot.nodes.reputation[slots] < threshold)
    out: I64 = slots[low]
    return out


def mean_by_kind(kind: I8, values: F32) -> NDArray[np.float64]:
    """Mean of a per-slot value per `NodeKind` over the given slots (NaN where none)."""
    counts = np.bincount(kind, minlength=len(NodeKind))
    sums = np.bincount(kind, weights=values, minlength=len(NodeKind))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
