"""World dynamics shared by both engines: churn, outages, identities, observations, tasks, growth.

Engines differ only in how they draw behaviour (`Behaviour`): the vectorized engine draws one array
for all slots, the mesa engine lets each agent type draw for its own agents. Everything here is
deterministic given the behaviour. Serving requests lives in `sim.serving`.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from governance.policy.round_kernels import gather_rows
from governance.policy.types import NO_NODE, Observations, PaymentStatus, Tier
from sim import kernels as slot_kernels
from sim import observe_kernels
from sim.halves import over_rows
from sim.scenario import Scenario
from sim.world import F32, I8, I64, B, NodeKind, World

if TYPE_CHECKING:  # serving imports this module (for `Behaviour`)
    from sim.serving import Served


@dataclass(frozen=True, slots=True)
class Behaviour:
    """What the operators did this step (drawn by the engine)."""

    leaving: I64  # present slots that leave the network
    joining: I64  # absent slots that join as new identities
    down: B  # present slots unreachable this step (flaky outage)
    failing: B  # slots that fail the work they host this step (Sybils gaming)
    probed: B  # slots whose capacity a probe measured this step
    # When the probed slots are every ``probe_every``-th from ``probe_offset`` (0: any mask), and
    # the next step's from ``next_probe_offset``: their true capacity can be read ahead.
    probe_every: int = 0
    probe_offset: int = 0
    next_probe_offset: int = 0


def target_present(scenario: Scenario, nodes: int, steps: int, step: int) -> int:
    """Network size the growth curve asks for at `step` (linear to nodes * growth_factor)."""
    growth = scenario.churn.growth_factor
    return round(nodes * (1.0 + (growth - 1.0) * min(step + 1, steps) / steps))


def join_count(present_after_leaves: int, target: int) -> int:
    """Joins this step: new identities replace leavers and grow the network to the target."""
    return max(0, target - present_after_leaves)


def free_slots(world: World, limit: int | None = None) -> I64:
    """Absent slots with nothing assigned (safe to hand to a new identity), the lowest `limit`."""
    size = world.slots if limit is None else max(0, min(limit, world.slots))
    out = np.empty(size, dtype=np.int64)  # untouched beyond the slots found
    present = world.present
    words = present[: present.size - present.size % 8].view(np.uint64)
    count = slot_kernels.free_slots_jit(present, words, world.snapshot.nodes.replicas_held, out)
    return out[:count].copy()


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
    services_of = snap.replicas.service[replicas]
    slot_kernels.release_jit(
        nodes_of, services_of, snap.services.demand, snap.nodes.used, snap.nodes.replicas_held
    )
    snap.replicas.node[replicas] = NO_NODE
    snap.replicas.evict_at_s[replicas] = np.inf
    snap.replicas.evict_reason[replicas] = -1


def new_identities(world: World, slots: I64, now_s: float, initial_reputation: float) -> None:
    """Give `slots` fresh keys: newcomers with no tenure (Sybil rejoin or a new node)."""
    count = slots.size
    if count == 0:
        return
    nodes = world.snapshot.nodes
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
    world.up = np.empty(world.slots, dtype=np.bool_)  # fresh: a step's `up` may outlive it
    observe_kernels.reachability_jit(
        world.present, behaviour.down, world.up, nodes.last_heartbeat_s, float(now_s)
    )


def activate_services(world: World, scenario: Scenario, max_nodes: int) -> None:
    """Services arrive with the network (growth): the first k rows are active and paying."""
    present = (
        int(np.count_nonzero(world.present)) if scenario.churn.growth_factor > 1 else max_nodes
    )
    m = world.service_active.size
    k = max(4, min(m, int(np.ceil(m * present / max_nodes))))
    if k > int(np.count_nonzero(world.service_active)):
        world.service_active[:k] = True
        world.snapshot.services.payment[:k] = PaymentStatus.PAID


def observations(
    world: World,
    behaviour: Behaviour,
    served: Served | None,
    interval_s: float,
    probe_table: F32 | None = None,
) -> Observations:
    """What the network measured per node since the last cycle: the reputation inputs.

    Probes reach a tenth of the nodes, so their measurements go in the sparse form (probed rows
    and their observed capacity) instead of an (n, R) table that is mostly NaN. ``probe_table``:
    `probe_capacity` of this step's probe pattern, read ahead (optional).
    """
    nodes = world.snapshot.nodes
    uptime = world.buffer("uptime_fraction", world.slots, np.float32)
    rows = world.buffer("probed_rows", world.slots, np.int64)
    probed = rows[: observe_kernels.uptime_probed_jit(world.up, behaviour.probed, uptime, rows)]
    zeros = np.zeros(world.slots if served is None else 0, dtype=np.int32)
    observed = None
    if probe_table is not None and behaviour.probe_every > 0:
        observed = np.empty((probed.size, probe_table.shape[1]), dtype=probe_table.dtype)
        every, offset = behaviour.probe_every, behaviour.probe_offset
        if not observe_kernels.gather_every_jit(probe_table, probed, offset, every, observed):
            observed = None  # not that pattern after all: gather from the slot table
    return Observations(
        interval_s=interval_s,
        uptime_fraction=uptime,
        jobs_succeeded=served.jobs_succeeded if served is not None else zeros,
        jobs_failed=served.jobs_failed if served is not None else zeros,
        sla_violations=served.node_sla if served is not None else zeros,
        reported_capacity=nodes.capacity,
        observed_capacity=gather_rows(world.true_capacity, probed)
        if observed is None
        else observed,
        observed_rows=probed.copy(),
    )


def probe_capacity(world: World, every: int, offset: int) -> F32:
    """True capacity of the slots ``offset::every``, contiguous (`observations` reads it ahead).

    True capacity never changes, so it may be read on another thread at any time, and the tables
    of all ``every`` offsets are laid out once, in one pass (the first call; ~9 ms at 1e7 slots),
    instead of a strided gather that reads every row's cache line each step (~6 ms at 1e7).
    """
    name = f"probe_capacity/{every}"  # (not a step buffer: kept for the run)
    tables = world.buffers.get(name)
    n, columns = world.true_capacity.shape
    if tables is None:
        tables = np.empty((every, -(-n // every), columns), dtype=world.true_capacity.dtype)
        observe_kernels.every_tables_jit(world.true_capacity, every, tables)
        world.buffers[name] = tables
    table: F32 = tables[offset, : len(range(offset, n, every))]
    return table


def finish_tasks(world: World, pool: Executor | None = None) -> I64:
    """Tasks that ran their duration complete and respawn (to be placed again); return them.

    On big networks the countdown runs as two halves, one of them on ``pool`` when one is given.
    """
    reps = world.snapshot.replicas
    tasks = world.task_replicas
    done = world.buffer("tasks_done", tasks.size, np.int64)

    def countdown(lo: int, hi: int) -> int:
        return int(
            slot_kernels.finish_tasks_jit(
                tasks, world.task_services, reps.node, world.up, world.task_remaining_steps,
                world.task_duration_steps, done, lo, hi,
            )
        )  # fmt: skip

    cut = tasks.size // 2
    counts = over_rows(pool, tasks.size, countdown, cut)
    if len(counts) == 2:  # the second half's rows follow the first's
        finished = np.concatenate([done[: counts[0]], done[cut : cut + counts[1]]])
    else:
        finished = done[: counts[0]].copy()
    _unassign(world, finished)
    return finished


def sybils_to_cycle(world: World, threshold: float) -> I64:
    """Sybil slots whose reputation fell below `threshold`: they drop the key and rejoin."""
    slots = world.sybil_slots  # kinds never change per slot: look at the Sybil rows only
    low = world.present[slots] & (world.snapshot.nodes.reputation[slots] < threshold)
    out: I64 = slots[low]
    return out


def mean_by_kind(kind: I8, values: F32, rows: I64) -> NDArray[np.float64]:
    """Mean of a per-slot value per `NodeKind` over the slots ``rows`` (NaN where none)."""
    out = np.empty(len(NodeKind), dtype=np.float64)
    slot_kernels.mean_by_kind_jit(kind, values, rows, out)
    return out
