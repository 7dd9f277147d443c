"""Very large networks, one shard at a time: a 1e9-node step as independent cells of <= 1e7 nodes.

The whole 1e9-node state does not fit in 20 GB (the policy's node table alone is ~76 bytes a node,
the simulator and token book add ~50 more, and a step needs temporaries). So the network is split
into cells (shards) that each own their nodes, services and accounts, like regions that place work
only inside themselves; each shard is built from its own seed ``[seed, shard]``, stepped with the
same policy core, folded into running totals, and freed before the next one. Memory is bounded by
one shard; time grows linearly with the shard count. Replicas never cross shards: that is the
simplification, stated in every result.
"""

from __future__ import annotations

import gc
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sim.runner import make_engine, resolve_sizes
from sim.scenario import load_scenario


@dataclass(slots=True)
class ShardedStep:
    """Totals of one sharded step."""

    total_nodes: int
    shard_nodes: int
    shards_done: int = 0
    nodes_done: int = 0
    build_s: float = 0.0
    warm_s: float = 0.0
    warm_steps: int = 0
    step_s: float = 0.0
    replicas_desired: int = 0
    replicas_available: float = 0.0
    placements: int = 0
    evictions: int = 0
    budget_violations: int = 0
    per_shard: list[dict[str, Any]] = field(default_factory=list)

    def as_row(self) -> dict[str, Any]:
        """Summary row: measured shards plus the linear extrapolation to `total_nodes`."""
        scale = self.total_nodes / max(self.nodes_done, 1)
        return {
            "engine": "vector-sharded",
            "nodes": self.total_nodes,
            "shard_nodes": self.shard_nodes,
            "shards_measured": self.shards_done,
            "nodes_measured": self.nodes_done,
            "node_steps_per_s": self.nodes_done / self.step_s if self.step_s else 0.0,
            "measured_step_s": self.step_s,
            "measured_build_s": self.build_s,
            "warm_steps": self.warm_steps,
            "measured_warm_s": self.warm_s,
            "extrapolated_step_s": self.step_s * scale,
            "extrapolated_total_s": (self.step_s + self.build_s + self.warm_s) * scale,
            "availability": self.replicas_available / max(self.replicas_desired, 1),
            "placements": self.placements,
            "evictions": self.evictions,
            "budget_violations": self.budget_violations,
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "complete": self.nodes_done >= self.total_nodes,
        }


def sharded_step(
    total_nodes: int,
    shard_nodes: int,
    *,
    scenario_ref: str = "baseline",
    seed: int = 1,
    max_shards: int | None = None,
    warm_steps: int = 0,
    on_shard: Callable[[dict[str, Any]], None] | None = None,
) -> ShardedStep:
    """Build and step shards until `total_nodes` (or `max_shards`) are done.

    With ``warm_steps`` > 0 each shard first runs that many untimed steps (the first one places
    every replica), so the timed step is a steady-state step of a running network.
    """
    scenario = load_scenario(scenario_ref)
    out = ShardedStep(total_nodes=total_nodes, shard_nodes=shard_nodes, warm_steps=warm_steps)
    shard = 0
    while out.nodes_done < total_nodes and (max_shards is None or shard < max_shards):
        nodes = min(shard_nodes, total_nodes - out.nodes_done)
        sizes = resolve_sizes(scenario, nodes=nodes, steps=1 + warm_steps)
        t0 = time.perf_counter()
        engine = make_engine(
            "vector", scenario, sizes, seed * 1_000_003 + shard, None, scenario_ref
        )
        tb = time.perf_counter()
        for _ in range(warm_steps):
            engine.step_once()
        t1 = time.perf_counter()
        out.warm_s += t1 - tb
        kpis = engine.step_once()
        t2 = time.perf_counter()
        out.build_s += tb - t0
        out.step_s += t2 - t1
        out.nodes_done += nodes
        out.shards_done += 1
        out.replicas_desired += kpis.replicas_desired
        out.replicas_available += kpis.availability * kpis.replicas_desired
        out.placements += kpis.placements
        out.evictions += kpis.evictions
        out.budget_violations += kpis.budget_violations
        info = {
            "shard": shard,
            "nodes": nodes,
            "build_s": tb - t0,
            "warm_s": t1 - tb,
            "step_s": t2 - t1,
        }
        out.per_shard.append(info)
        if on_shard is not None:
            on_shard(info)
        del engine
        gc.collect()
        shard += 1
    return out
