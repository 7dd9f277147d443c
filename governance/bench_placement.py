"""`hyperbrick bench placement`: decisions per second of both placement modes, quality, peak memory.

Per size: a seeded synthetic network with every replica pending. Throughput is measured on
``decisions`` replicas per mode; quality is the sampled mode's mean chosen score divided by exact
greedy's on the same workload (scores are taken at commit time in both modes).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)


def register(targets: Any) -> None:
    """Add ``bench placement``."""
    parser = targets.add_parser("placement", help="placement decisions/s, quality, peak memory")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES), help="node counts"
    )
    parser.add_argument(
        "--exact-decisions",
        type=int,
        default=50_000,
        help="replicas placed by exact mode (and by sampled for the quality ratio)",
    )
    parser.add_argument(
        "--sampled-decisions",
        type=int,
        default=1_000_000,
        help="replicas placed by sampled mode for its throughput (capped at nodes)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark; print a table or one JSON object."""
    rows = []
    _load_kernels(args.seed)
    for nodes in args.sizes:
        rows.extend(measure(nodes, args.exact_decisions, args.sampled_decisions, args.seed))
    if args.json:
        print(json.dumps({"benchmark": "placement", "results": rows}))
    else:
        print(
            f"{'nodes':>10} {'mode':>8} {'decisions':>10} {'decisions/s':>12} "
            f"{'cpu dec/s':>12} {'quality':>8} {'peak MiB':>9}"
        )
        for r in rows:
            print(
                f"{r['nodes']:>10,} {r['mode']:>8} {r['decisions']:>10,} "
                f"{r['decisions_per_s']:>12,.0f} {r['cpu_decisions_per_s']:>12,.0f} "
                f"{r['quality']:>8.4f} {r['peak_rss_bytes'] / 2**20:>9,.0f}"
            )
    return 0


def _network(nodes: int, replicas: int, seed: int) -> Any:
    import numpy as np

    from governance.policy.synthetic import synthetic_network

    # synthetic services have 2 replicas on average
    return synthetic_network(nodes, max(1, replicas // 2), np.random.default_rng(seed))


def _load_kernels(seed: int) -> None:
    """Place on a tiny network in both modes first, untimed.

    Compiled kernels are built or loaded from numba's cache on their first call (and the first
    call in a process sets up the compiler); that one-off cost is not a placement rate.
    """
    tiny = _network(200, 50, seed)
    for mode in ("exact", "sampled"):
        _timed(tiny, mode, seed)


def _timed(snap: Any, mode: str, seed: int) -> tuple[Any, float, float]:
    import numpy as np

    from governance.policy import PolicyParams, place

    now = float(snap.nodes.last_heartbeat_s[0])
    wall, cpu = time.perf_counter(), time.process_time()
    plan, _ = place(snap, PolicyParams(), now, np.random.default_rng(seed), mode=mode)  # type: ignore[arg-type]
    return plan, time.perf_counter() - wall, time.process_time() - cpu


def measure(
    nodes: int, exact_decisions: int, sampled_decisions: int, seed: int
) -> list[dict[str, Any]]:
    """Rows for one size: exact, sampled on the exact workload (quality), sampled at scale."""
    import numpy as np
    import psutil

    proc = psutil.Process()
    small = _network(nodes, min(exact_decisions, nodes), seed)
    exact, wall, cpu = _timed(small, "exact", seed)
    exact_mean = float(np.nanmean(exact.score))
    sampled, s_wall, s_cpu = _timed(small, "sampled", seed)
    quality = float(np.nanmean(sampled.score)) / exact_mean
    rows = [
        _row(nodes, "exact", exact, wall, cpu, 1.0, proc),
        _row(nodes, "sampled", sampled, s_wall, s_cpu, quality, proc, note="quality workload"),
    ]
    del small
    big_n = min(sampled_decisions, nodes)
    if big_n > len(sampled):
        big = _network(nodes, big_n, seed)
        plan, wall, cpu = _timed(big, "sampled", seed)
        rows.append(_row(nodes, "sampled", plan, wall, cpu, quality, proc, note="throughput"))
    return rows


def _row(
    nodes: int,
    mode: str,
    plan: Any,
    wall: float,
    cpu: float,
    quality: float,
    proc: Any,
    note: str = "",
) -> dict[str, Any]:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "nodes": nodes,
        "mode": mode,
        "decisions": len(plan),
        "placed": plan.placed,
        "decisions_per_s": len(plan) / wall,
        "cpu_decisions_per_s": len(plan) / cpu if cpu > 0 else float("nan"),
        "quality": quality,
        "peak_rss_bytes": int(max(peak, proc.memory_info().rss)),
        "note": note,
    }
