"""Serving one step of requests: demand draws, who serves, failures, SLA, jobs and payment batches.

Split from `sim.dynamics` (the rest of a step's world dynamics): every pass here runs on big
networks as two halves, one of them on the core's idle worker thread.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sim import serve_kernels as kernels
from sim.dynamics import Behaviour
from sim.halves import over_rows
from sim.normal_draws import standard_normal_f32
from sim.scenario import Scenario
from sim.world import F32, I32, I64, B, World

#: A service whose failed-request share exceeds this in a step violates its SLA.
SLA_FAILED_SHARE = 0.05
#: Demand draws from which the bulk drawer beats numpy's (they cost the same at ~2,000 here).
_BULK_DRAWS = 4096
#: Largest request count an int32 batch column holds.
_I32_MAX = 2**31 - 1
#: No services (shared, read-only).
_NO_SERVICES = np.zeros(0, dtype=np.int64)
_NO_SERVICES.flags.writeable = False


@dataclass(frozen=True, slots=True)
class Served:
    """Outcome of serving one step of requests.

    Request batches: one per replica row (0 requests where it did not serve), then one per ring
    wash trade; int32 columns while their values fit (fewer bytes to write and for the economics
    to read), else int64. The per-node arrays are reused step buffers, valid until the next
    `serve`.
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
    batch_provider: I32 | I64
    batch_owner: I32 | I64
    batch_payer: I32 | I64
    batch_count: I32 | I64
    adversary_batches: I64  # batch rows whose provider is adversarial


def demand_noise(rng: np.random.Generator, services: int, out: F32 | None = None) -> F32:
    """A step's standard-normal demand draws, one per service (all the demand stream is used for).

    They depend on nothing the step computes, so an engine may draw the next step's ahead of time.
    `normal_draws` gives numpy's own draws (``rng.standard_normal(services, dtype=np.float32)``)
    and leaves ``rng`` as numpy would, in under half the time on big networks; below
    `_BULK_DRAWS` numpy's own call is quicker (its fixed cost: ~5 us against ~9 us for 200 draws).
    """
    if services < _BULK_DRAWS:
        noise: F32 = rng.standard_normal(services, dtype=np.float32, out=out)
        return noise
    return standard_normal_f32(rng, services, out)


def draw_requests(
    rng: np.random.Generator,
    lam: NDArray[np.float32],
    scale: float = 1.0,
    out: I64 | None = None,
) -> I64:
    """Requests per service: Poisson(scale * lam) (float32), drawn as its normal approximation."""
    return request_counts(demand_noise(rng, lam.size), lam, scale, out)


def request_counts(noise: F32, lam: F32, scale: float = 1.0, out: I64 | None = None) -> I64:
    """Requests per service from the step's demand noise: Poisson(scale * lam), approximated.

    numpy's Poisson sampler costs ~200 ns a draw; the normal one ~10 ns, and at the scenario rates
    (tens of requests per service and step) the two laws are close. The float32 rate ``scale *
    lam``, ``rint(max(sqrt(rate) * noise + rate, 0))``, is one compiled pass (`serve_kernels`).
    """
    counts = np.empty(lam.size, dtype=np.int64) if out is None else out
    kernels.requests_jit(np.float32(scale), lam, noise, counts)
    return counts


def serve(
    world: World,
    scenario: Scenario,
    step: int,
    behaviour: Behaviour,
    noise: F32,
    pool: Executor | None = None,
) -> Served:
    """Route this step's requests to running replicas; count failures, SLA, jobs and payments.

    ``noise`` is the step's demand draws (`demand_noise`). On big networks each pass runs as two
    halves, one of them on ``pool`` (an idle worker thread) when one is given.

    One compiled pass over the nodes (who serves, job counts), one over the replica rows (who
    serves, the few special rows, then per service those that do not serve), one over the services
    (request split, SLA) and one over the replica rows again (requests served, batches). Per-node
    job counts come from the policy's ``replicas_held`` (a node's replicas all share its fate).
    """
    reps, services = world.snapshot.replicas, world.snapshot.services
    m, on = world.service_active.size, reps.node
    code, jobs_ok, jobs_bad = _node_pass(world, behaviour, pool)
    ok, rows = _replica_pass(world, code, pool)
    pending_rows, failing_rows, adversary_rows, wash_hosts = rows
    pending_svc, failing_svc = reps.service[pending_rows], reps.service[failing_rows]
    bad, pending = _not_serving(world, pending_svc, failing_svc)
    lam = np.float32(scenario.demand.requests_per_service_step * _demand_multiplier(scenario, step))
    req = world.buffer("requests", m, np.int64)
    first, moved = _first_running(world, pending_rows, pending_svc)
    table = world.buffer("share_table", 2 * m, np.int64)
    sla = world.buffer("service_sla", m, np.bool_)

    def service_pass(s_lo: int, s_hi: int) -> I64:
        totals = np.empty(5, dtype=np.int64)
        weight, draws = world.service_weight[s_lo:s_hi], noise[s_lo:s_hi]
        request_counts(draws, weight, float(lam), req[s_lo:s_hi])  # this half's requests
        kernels.service_pass_jit(
            services.replicas, world.service_active, req, bad, pending, first, ok, table, sla,
            totals, SLA_FAILED_SHARE, s_lo, s_hi,
        )  # fmt: skip
        return totals

    parts = over_rows(pool, m, service_pass)
    stats = parts[0] if len(parts) == 1 else parts[0] + parts[1]
    narrow = int(stats[kernels.REQUESTS]) <= _I32_MAX  # every row's count fits an int32 then
    served, provider = _shares(world, table, first, moved, ok, pool, narrow)
    for counts, of in ((bad, pending_svc), (bad, failing_svc), (pending, pending_svc)):
        kernels.zero_rows_jit(counts, of)  # zero again for the next step: only these counted
    node_sla = _node_sla(world, on[failing_rows], sla[failing_svc])
    kernels.add_one_jit(jobs_ok, wash_hosts)  # wash trades look like successful jobs
    wash = _wash(scenario, wash_hosts) if wash_hosts.size else None
    batches = _payments(world, provider, served, wash)
    total_desired = int(stats[kernels.DESIRED])
    return Served(
        requests=int(stats[kernels.REQUESTS]),
        requests_failed=int(stats[kernels.FAILED]),
        sla_violations=int(stats[kernels.SLA]),
        availability=float(stats[kernels.AVAILABLE] / max(total_desired, 1)),
        replicas_desired=total_desired,
        running=int(on.size - pending_rows.size),
        adversary_running=int(adversary_rows.size),
        jobs_succeeded=jobs_ok,
        jobs_failed=jobs_bad,
        node_sla=node_sla,
        batch_provider=batches[0],
        batch_owner=batches[1],
        batch_payer=batches[2],
        batch_count=batches[3],
        adversary_batches=_adversary_batches(adversary_rows, on.size, wash_hosts.size),
    )


def _adversary_batches(rows: I64, replicas: int, wash: int) -> I64:
    """Batch rows of adversarial providers: theirs among the replica rows, then every wash trade."""
    if wash == 0:
        return rows.copy()  # ``rows`` is a step buffer
    return np.concatenate([rows, replicas + np.arange(wash)])


def _node_pass(
    world: World, behaviour: Behaviour, pool: Executor | None
) -> tuple[NDArray[np.uint8], I32, I32]:
    """Per slot: a code byte (bit 0 = serves this step | its kind bits), jobs ok and failed.

    A node serves when up, not failing and not overloaded. The code has an extra last row of 0 so
    that ``code[NO_NODE]`` is a node that neither serves nor is adversarial. The job counts are
    reused step buffers, read by the next step's observations before the next `serve`.
    """
    n = world.slots
    code = world.buffer("node_code", n + 1, np.uint8)
    jobs_ok = world.buffer("jobs_ok", n, np.int32)
    jobs_bad = world.buffer("jobs_bad", n, np.int32)

    def node_pass(lo: int, hi: int) -> None:
        kernels.node_pass_jit(
            world.snapshot.nodes.used, world.cpu_overload_millicores, world.up, behaviour.failing,
            world.kind_bits, world.snapshot.nodes.replicas_held, code, jobs_ok, jobs_bad, lo, hi,
        )  # fmt: skip

    over_rows(pool, n, node_pass)
    return code, jobs_ok, jobs_bad


def _replica_pass(
    world: World, code: NDArray[np.uint8], pool: Executor | None
) -> tuple[B, tuple[I64, I64, I64, I64]]:
    """Per replica row: serves?; the special rows.

    Returns the serving mask and the (pending, failing, adversarial, ring-host) row lists. Updates
    the replicas' recent SLA violations (a policy input): -1 on a serving row, +1 on a failing
    one. Split in two, each half writes its lists from its first row; the second half's lists
    then move up behind the first's.
    """
    reps = world.snapshot.replicas
    r = reps.size
    ok = world.buffer("replica_ok", r, np.bool_)
    rows = world.buffer("replica_rows", 4 * r, np.int64).reshape(4, r)

    def replica_pass(lo: int, hi: int) -> I64:
        counts = np.zeros(4, dtype=np.int64)
        kernels.replica_pass_jit(reps.node, code, reps.sla_violations, ok, rows, counts, lo, hi)
        return counts

    counts = over_rows(pool, r, replica_pass)
    total = counts[0]
    if len(counts) == 2:
        cut = r // 2
        for k in range(4):  # move the second half's lists up behind the first's
            rows[k, total[k] : total[k] + counts[1][k]] = rows[k, cut : cut + counts[1][k]]
        total = total + counts[1]
    lists = tuple(rows[k, : total[k]] for k in range(4))
    return ok, (lists[0], lists[1], lists[2], lists[3])


def _not_serving(world: World, pending_svc: I32, failing_svc: I32) -> tuple[I64, I64]:
    """Per service: its rows that do not serve, and its pending rows (a few in a hundred).

    Counted from the services of the pending and failing rows into step buffers that are all 0
    outside those services: `serve` sets them back to 0 once read (zeroing both 16 MB columns at
    1e7 every step, and counting inside the replica pass, cost more).
    """
    m = world.service_active.size
    counts = []
    for name in ("service_bad", "service_pending"):
        column = world.buffers.get(name)
        if column is None or column.shape[0] != m:
            column = world.buffers[name] = np.zeros(m, dtype=np.int64)
        counts.append(column)
    bad, pending = counts
    kernels.add_one_jit(bad, pending_svc)
    kernels.add_one_jit(bad, failing_svc)
    kernels.add_one_jit(pending, pending_svc)
    return bad, pending


def _first_running(world: World, pending: I64, pending_svc: I32) -> tuple[I64, I64]:
    """First running replica row of every service, and the services where it is not the first row.

    A service with no running replica gets its first row (pending: it serves nothing anyway).
    """
    static = world.service_first_replica
    first = world.buffers.get("first_running")
    if first is None or first.shape[0] != static.size:
        first = world.buffers["first_running"] = static.copy()
    else:  # only last step's moved services differ from their first row (no 16 MB copy)
        last = world.buffers["first_running_moved"]
        first[last] = static[last]
    world.buffers["first_running_moved"] = _NO_SERVICES
    if pending.size == 0:
        return first, _NO_SERVICES
    node = world.snapshot.replicas.node
    replicas = world.snapshot.services.replicas
    # Only services whose first row is pending need a search (a few): walk their rows. A
    # service has one first row, and pending rows ascend: these are unique and sorted already.
    moved = pending_svc[pending == first[pending_svc]].astype(np.int64)
    svc = moved
    for k in range(1, int(replicas[svc].max(initial=1))):
        svc = svc[k < replicas[svc]]
        svc = svc[node[first[svc]] < 0]  # still pending: try the next row
        first[svc] += 1
    moved = moved[first[moved] != static[moved]]
    world.buffers["first_running_moved"] = moved
    return first, moved


def _shares(
    world: World, table: I64, first: I64, moved: I64, ok: B, pool: Executor | None, narrow: bool
) -> tuple[I32 | I64, I32]:
    """Requests per replica row and its host (row 0 when pending): one streaming gather.

    The requests in int32 when ``narrow`` (the step's total fits one), else in int64.

    `World.replica_share_slot` points each row at its service's (quotient, quotient + extra) pair
    in ``table`` (odd slot for the service's first row); services whose first running row is a
    later row (``moved``) are re-pointed for the gather and restored after it. Rows that do not
    serve serve 0.
    """
    slot = world.replica_share_slot
    static_first = world.service_first_replica[moved]
    if moved.size:
        slot[static_first] -= 1
        slot[first[moved]] += 1
    served: I32 | I64 = (
        world.buffer("served", slot.size, np.int32)
        if narrow
        else world.buffer("served_wide", slot.size, np.int64)
    )
    provider: I32 = world.buffer("batch_provider", slot.size, np.int32)
    on, r = world.snapshot.replicas.node, slot.size

    def shares(lo: int, hi: int) -> None:
        kernels.shares_jit(table, slot, ok, on, served, provider, lo, hi)

    over_rows(pool, r, shares)
    if moved.size:
        slot[first[moved]] -= 1
        slot[static_first] += 1
    return served, provider


def _node_sla(world: World, failed_on: I32, failed_sla: B) -> I32:
    """Per node: its failed replicas whose service broke its SLA (a reused step buffer)."""
    n = world.slots
    node_sla = world.buffers.get("node_sla")
    if node_sla is None or node_sla.shape[0] != n:
        node_sla = world.buffers["node_sla"] = np.zeros(n, dtype=np.int32)
    else:  # only last step's failed nodes can be non-zero
        kernels.zero_rows_jit(node_sla, world.buffers["node_sla_rows"])
    rows = failed_on[failed_sla].astype(np.int64)
    kernels.add_one_jit(node_sla, rows)
    world.buffers["node_sla_rows"] = rows
    return node_sla


def _payments(
    world: World, provider: I32, served: I32 | I64, wash: tuple[I64, I64, I64, I64] | None
) -> tuple[I32 | I64, I32 | I64, I32 | I64, I32 | I64]:
    """Request batches (provider, owner, payer, count): one per replica row, wash trades appended.

    Rows that served nothing (pending, failed or no request) are batches of 0 requests, which the
    economics step ignores; keeping every row avoids compacting five replica-length columns.
    """
    owner = _narrow_accounts(world, "batch_owner", world.replica_owner_account)
    payer = _narrow_accounts(world, "batch_payer", world.replica_payer_account)
    if wash is None or wash[0].size == 0:
        return provider, owner, payer, served
    return (
        np.concatenate([provider, wash[0]]),
        np.concatenate([owner, wash[1]]),
        np.concatenate([payer, wash[2]]),
        np.concatenate([served, wash[3]]),
    )


def _narrow_accounts(world: World, name: str, column: I64) -> I32 | I64:
    """A static per-replica account column as int32 when it fits, copied once per column.

    The world sets these columns once and replaces, never changes, them: the copy is kept in
    the step buffers with the column it was made from, and made again when that differs.
    """
    source = world.buffers.get(name + "_source")
    if source is not column:
        fits = column.size == 0 or (int(column.min()) >= 0 and int(column.max()) <= _I32_MAX)
        world.buffers[name] = column.astype(np.int32) if fits else column
        world.buffers[name + "_source"] = column
    narrow: I32 | I64 = world.buffers[name]
    return narrow


def _wash(scenario: Scenario, hosts: I64) -> tuple[I64, I64, I64, I64]:
    """Colluding rings route fake requests to replicas their members host and pay themselves.

    The host's own account pays, gets the provider share back and earns the job successes that feed
    its reputation; the protocol fee and the owner share are what the wash trade costs. ``hosts``:
    the host of each serving replica on a ring slot, in row order.
    """
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
