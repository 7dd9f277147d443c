"""`hyperbrick bench sim`: node-steps per second (full governance step) and peak RSS per row.

Each row runs in a fresh process so its peak RSS is its own. A row builds the world, runs warm-up
steps (the first places every replica), then times steady-state steps of the `baseline` scenario
with the Hyperbrick policy: behaviour, serving, `run_cycle`, actuator, economics and KPIs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

FULL_ROWS = (
    ("mesa", 1_000),
    ("mesa", 10_000),
    ("mesa", 100_000),
    ("vector", 100_000),
    ("vector", 1_000_000),
    ("vector", 10_000_000),
)
QUICK_ROWS = (("mesa", 1_000), ("vector", 10_000))


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `bench sim`."""
    parser = subparsers.add_parser("sim", help="simulator node-steps/s and peak RSS")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="small sizes only (smoke test)")
    parser.add_argument("--scenario", default="baseline")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per row")
    parser.add_argument("--rows", default=None, help="ENGINE:NODES,... (overrides the size list)")
    parser.add_argument(
        "--billion", action="store_true", help="also one sharded step of a 1e9-node network (long)"
    )
    parser.add_argument("--total-nodes", type=float, default=1e9, help="sharded network size")
    parser.add_argument("--shard-nodes", type=float, default=1e7, help="nodes per shard")
    parser.add_argument(
        "--max-shards", type=int, default=None, help="stop after this many shards and extrapolate"
    )
    parser.add_argument(
        "--warm-steps", type=int, default=0, help="untimed steps per shard first (steady state)"
    )
    parser.set_defaults(handler=_handler)


def _steps_for(nodes: int) -> int:
    """Timed steps of a row: at least ~3e5 node-steps on small rows.

    A 1e3-node step takes about a millisecond: ten of them would time a window that one scheduler
    hiccup on a shared machine moves by tens of percent. Big rows time five steps: steps differ by
    how many tasks finish and how many nodes churn.
    """
    return 5 if nodes >= 500_000 else max(10, 300_000 // nodes)


def measure(engine: str, nodes: int, steps: int, scenario_ref: str) -> dict[str, Any]:
    """Run one row in this process (call it in a fresh process for a clean peak RSS)."""
    import resource
    import time

    from sim.runner import make_engine, resolve_sizes
    from sim.scenario import load_scenario

    scenario = load_scenario(scenario_ref)
    sizes = resolve_sizes(scenario, nodes=nodes, steps=steps + 2)
    _compile_kernels(engine, scenario, scenario_ref, steps + 2)
    t0 = time.perf_counter()
    eng = make_engine(engine, scenario, sizes, scenario.seed, None, scenario_ref)
    build_s = time.perf_counter() - t0
    for _ in eng.run(2):
        pass
    t1 = time.perf_counter()
    for _ in eng.run(steps):
        pass
    elapsed = time.perf_counter() - t1
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "engine": engine,
        "nodes": nodes,
        "steps": steps,
        "node_steps_per_s": nodes * steps / elapsed,
        "step_s": elapsed / steps,
        "build_s": build_s,
        "peak_rss_bytes": rss,
    }


def _compile_kernels(engine: str, scenario: Any, scenario_ref: str, steps: int) -> None:
    """Run a tiny network of the same scenario for as many steps first, untimed.

    The compiled kernels are built (or loaded from numba's cache) on the first call of each code
    path, and some paths start only a few steps in; this keeps that one-off cost out of the build
    and step times below.
    """
    from sim.runner import make_engine, resolve_sizes

    sizes = resolve_sizes(scenario, nodes=min(scenario.sizes.nodes, 300), steps=steps)
    warm = make_engine(engine, scenario, sizes, scenario.seed, None, scenario_ref)
    for _ in range(sizes.steps):
        warm.step_once()


def _child(engine: str, nodes: int, steps: int, scenario: str, queue: Any) -> None:
    try:
        queue.put(measure(engine, nodes, steps, scenario))
    except MemoryError:
        queue.put({"engine": engine, "nodes": nodes, "error": "MemoryError"})


def measure_isolated(engine: str, nodes: int, steps: int, scenario: str) -> dict[str, Any]:
    """`measure` in a spawned process."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(engine, nodes, steps, scenario, queue))
    proc.start()
    proc.join()
    if proc.exitcode != 0 or queue.empty():
        return {"engine": engine, "nodes": nodes, "error": f"exit code {proc.exitcode}"}
    row: dict[str, Any] = queue.get()
    return row


def _rows(args: argparse.Namespace) -> list[tuple[str, int]]:
    if args.rows:
        out = []
        for item in args.rows.split(","):
            engine, _, nodes = item.partition(":")
            out.append((engine, int(float(nodes))))
        return out
    return list(QUICK_ROWS if args.quick else FULL_ROWS)


def _sharded_child(total: int, shard: int, max_shards: int | None, warm: int, queue: Any) -> None:
    from sim.shards import sharded_step

    def progress(info: dict[str, Any]) -> None:
        print(
            f"  shard {info['shard']}: {info['nodes']:,} nodes, build {info['build_s']:.1f} s, "
            f"warm {info['warm_s']:.1f} s, "
            f"step {info['step_s']:.1f} s",
            file=sys.stderr,
            flush=True,
        )

    result = sharded_step(total, shard, max_shards=max_shards, warm_steps=warm, on_shard=progress)
    queue.put(result.as_row())


def measure_sharded(
    total: int, shard: int, max_shards: int | None, warm: int = 0
) -> dict[str, Any]:
    """One sharded step in a spawned process (its peak RSS is the row's)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_sharded_child, args=(total, shard, max_shards, warm, queue))
    proc.start()
    proc.join()
    if proc.exitcode != 0 or queue.empty():
        return {"engine": "vector-sharded", "nodes": total, "error": f"exit code {proc.exitcode}"}
    row: dict[str, Any] = queue.get()
    return row


def _handler(args: argparse.Namespace) -> int:
    results = []
    rows = [] if args.billion and not args.rows else _rows(args)
    if args.billion:
        row = measure_sharded(
            int(args.total_nodes), int(args.shard_nodes), args.max_shards, args.warm_steps
        )
        results.append(row)
        if not args.json:
            print(json.dumps(row), flush=True)
    for engine, nodes in rows:
        steps = args.steps or _steps_for(nodes)
        row = measure_isolated(engine, nodes, steps, args.scenario)
        results.append(row)
        if not args.json:
            print(_line(row), flush=True)
    if args.json:
        meta = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
        print(json.dumps({"benchmark": "sim", "machine": meta, "results": results}))
    return 0


def _line(row: dict[str, Any]) -> str:
    if "error" in row:
        return f"{row['engine']:6s} {row['nodes']:>11,} nodes  FAILED: {row['error']}"
    return (
        f"{row['engine']:6s} {row['nodes']:>11,} nodes  {row['node_steps_per_s']:>14,.0f} "
        f"node-steps/s  {row['step_s'] * 1e3:9.1f} ms/step  "
        f"peak RSS {row['peak_rss_bytes'] / 2**30:6.2f} GiB"
    )
