"""The KPIs a step reads off the world: slot counts, CPU sums over the up slots, the sample."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim import dynamics, halves, kernels, serving
from sim.actuator import Actuation
from sim.world import I64, B, NodeKind, World

#: KPIs over all nodes (Gini, reputation by type) use a strided sample above this many nodes.
KPI_SAMPLE = 65_536
#: numpy sums float32 pairwise: blocks of up to this many values, halves above (numpy's own).
_PAIRWISE_BLOCK = 128


@dataclass(frozen=True, slots=True)
class SlotCounts:
    """Counts of a step's present and up slots, fixed once its behaviour is applied."""

    present: int
    sample: I64  # present slots, strided on big networks (KPI means, the Gini)
    up: int
    up_cut: int  # the row after the head-th up slot (`serving_sums`)
    true_cpu: float  # true CPU millicores summed over the up slots (numpy's float32 sum)


def slot_counts(world: World, present: B, up: B) -> SlotCounts:
    """Count the present and up slots (the arrays themselves: the next step replaces ``up``)."""
    count = int(np.count_nonzero(present))
    up_count = int(np.count_nonzero(up))
    # numpy's float32 sum over more than `_PAIRWISE_BLOCK` values is that of the first
    # ``head`` (half, rounded down to a multiple of 8) plus that of the rest.
    head = up_count // 2 - (up_count // 2) % 8
    words = up[: up.size - up.size % 8].view(np.uint64)
    cut = int(kernels.row_after_jit(up, words, head))
    # True capacity never changes: its sum over the up slots is settled here too.
    cap = world.buffer("kpi_true_cpu", up.size, np.float32)
    k = int(kernels.compact_jit(up, world.true_cpu_millicores, cap, 0, up.size))
    true_cpu = float(cap[:k].sum())
    return SlotCounts(count, present_sample(world, count), up_count, cut, true_cpu)


def present_sample(world: World, present: int) -> I64:
    """Present slots (``present`` of them), or an evenly strided ~64k on big networks."""
    stride = present // KPI_SAMPLE if present > KPI_SAMPLE else 1
    rows = np.empty(-(-present // stride) + 1, dtype=np.int64)  # + 1: the kernel's spare row
    mask = world.present
    words = mask[: mask.size - mask.size % 8].view(np.uint64)
    return rows[: kernels.strided_rows_jit(mask, words, stride, rows)]


def read_kpis(
    world: World,
    step: int,
    served: serving.Served,
    act: Actuation,
    rejoins: int,
    slots: SlotCounts,
    pool: Executor | None,
) -> dict[str, Any]:
    """The KPIs read off the world at the end of a step (``pool``: an idle worker, or None)."""
    nodes = world.snapshot.nodes
    cap, used, nodes_up = serving_sums(world, slots, pool)
    rep = dynamics.mean_by_kind(world.kind, nodes.reputation, slots.sample).tolist()
    return {
        "step": step,
        "nodes_present": slots.present,
        "nodes_up": nodes_up,
        "replicas_desired": served.replicas_desired,
        "availability": served.availability,
        "sla_violations": served.sla_violations,
        "requests": served.requests,
        "requests_failed": served.requests_failed,
        "placements": int(act.placed.size),
        "placement_failures": act.placement_failures,
        "evictions": act.evictions,
        "evictions_refused": act.evictions_refused,
        "budget_violations": act.budget_violations,
        "notice_violations": act.notice_violations,
        "eviction_loops": act.eviction_loops,
        "sybil_rejoins": rejoins,
        "adversary_placement_share": served.adversary_running / max(served.running, 1),
        "utilization": used / cap if cap > 0 else 0.0,
        "rep_honest": rep[NodeKind.HONEST],
        "rep_flaky": rep[NodeKind.FLAKY],
        "rep_liar": rep[NodeKind.LIAR],
        "rep_sybil": rep[NodeKind.SYBIL],
        "rep_ring": rep[NodeKind.RING],
    }


def serving_sums(
    world: World, slots: SlotCounts, pool: Executor | None
) -> tuple[float, float, int]:
    """True and used CPU summed over the up slots, and their count.

    The sums are numpy's (float32, pairwise) over the values in slot order, as a fancy-index
    gather would give them: a compiled pass compacts them into reused buffers instead (the
    true CPU's, which never changes, once the step's behaviour is applied). Over more than
    `_PAIRWISE_BLOCK` values numpy's sum is that of the first ``head`` (half the count,
    rounded down to a multiple of 8) plus that of the rest, so two halves cut after the
    ``head``-th up slot (``slots.up_cut``) each compact and sum their part of the used CPU,
    and the two sums add up to numpy's.
    """
    n = world.slots
    used = world.buffer("kpi_used_cpu", n, np.float32)
    up, used_cpu = world.up, world.snapshot.nodes.used[:, 0]

    def used_sum(lo: int, hi: int) -> np.float32:
        k = int(kernels.compact_jit(up, used_cpu, used, lo, hi))
        total: np.float32 = used[lo : lo + k].sum()
        return total

    count, cut = slots.up, slots.up_cut
    if pool is None or count <= _PAIRWISE_BLOCK:
        return slots.true_cpu, float(used_sum(0, n)), count
    first, second = halves.both(pool, lambda: used_sum(0, cut), lambda: used_sum(cut, n))
    return slots.true_cpu, float(first + second), count
