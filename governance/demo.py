"""`hyperbrick demo`: a seeded network run through several policy cycles, summarised for humans.

Nodes are honest, flaky (random outages) or liars (over-report capacity from cycle 3 on);
newcomers join every cycle and one failure domain goes dark half-way. Every cycle calls
`run_cycle`, the same entry point the service and the simulators use, then prints what was placed
and evicted, and why.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections import Counter
from typing import Any

CYCLE_S = 6 * 3600.0  # six hours per cycle, so reputation visibly moves


def register(commands: Any) -> None:
    """Add the ``demo`` sub-command."""
    parser = commands.add_parser("demo", help="run the policy core on a generated network")
    parser.add_argument("--nodes", type=int, default=2_000, help="initial nodes (default 2000)")
    parser.add_argument("--services", type=int, default=600, help="services (default 600)")
    parser.add_argument("--cycles", type=int, default=8, help="policy cycles (default 8)")
    parser.add_argument("--seed", type=int, default=7, help="RNG seed (default 7)")
    parser.add_argument("--params", help="policy params file (.toml/.yaml); default: built-in")
    parser.add_argument(
        "--baseline", action="store_true", help="use the Kubernetes-like baseline policy"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo and print its summary."""
    import numpy as np

    from governance.params_file import load_params
    from governance.policy import PolicyParams, kubernetes_baseline, run_cycle
    from governance.policy.synthetic import synthetic_network

    params = (
        load_params(args.params)
        if args.params
        else (kubernetes_baseline() if args.baseline else PolicyParams())
    )
    rng = np.random.default_rng(args.seed)
    now = 60 * 86_400.0
    snap = synthetic_network(args.nodes, args.services, rng, now_s=now)
    kind = rng.choice(np.array(["honest", "flaky", "liar"]), args.nodes, p=[0.8, 0.12, 0.08])
    print(f"Hyperbrick policy demo: policy {params.version!r}, mode {params.placement.mode}")
    print(
        f"network: {snap.nodes.size} nodes ({Counter(kind.tolist())}), {snap.services.size} "
        f"services, {snap.replicas.size} replicas, seed {args.seed}\n"
    )
    example = None  # the last cycle that placed something, for the example decisions
    for cycle in range(1, args.cycles + 1):
        now += CYCLE_S
        snap, kind = _world_step(snap, kind, cycle, args.cycles, now, rng)
        before = snap
        result = run_cycle(snap, params, now, rng)
        _print_cycle(cycle, result, kind)
        snap = result.snapshot
        if result.plan.placements.placed:
            example = (cycle, before, now, result)
    if example is not None:
        _print_examples(params, *example)
    return 0


def _world_step(snap: Any, kind: Any, cycle: int, cycles: int, now: float, rng: Any) -> Any:
    """Heartbeats, outages, lies and newcomers for one cycle."""
    import numpy as np

    from governance.policy.build import make_observations

    snap, kind = _join_newcomers(snap, kind, max(1, snap.nodes.size // 100), now, rng)
    n = snap.nodes.size
    up = np.where(kind == "flaky", rng.random(n) > 0.4, True)
    if cycle == cycles // 2:  # a whole failure domain goes dark
        up &= snap.nodes.failure_domain != 0
    hb = np.where(up, now, snap.nodes.last_heartbeat_s)
    obs = make_observations(n, CYCLE_S)
    lying = (kind == "liar") & (cycle >= 3)  # liars behave until they hold work
    reported = snap.nodes.capacity * np.where(lying, 2.0, 1.0)[:, None]
    jobs = rng.poisson(5, n).astype(np.int32)
    failed = rng.binomial(jobs, np.where(kind == "honest", 0.02, 0.3)).astype(np.int32)
    obs = dataclasses.replace(
        obs,
        uptime_fraction=up.astype(np.float32),
        jobs_succeeded=jobs - failed,
        jobs_failed=failed,
        reported_capacity=reported.astype(np.float32),
        observed_capacity=snap.nodes.capacity,
    )
    nodes = dataclasses.replace(snap.nodes, last_heartbeat_s=hb)
    return dataclasses.replace(snap, nodes=nodes, observations=obs), kind


def _join_newcomers(snap: Any, kind: Any, count: int, now: float, rng: Any) -> Any:
    """Append ``count`` fresh nodes (new keys: newcomers with zero reputation)."""
    import numpy as np

    from governance.policy import make_nodes
    from governance.policy.synthetic import NODE_CPU, NODE_DISK, NODE_MEM

    cap = np.stack(
        [rng.choice(NODE_CPU, count), rng.choice(NODE_MEM, count), rng.choice(NODE_DISK, count)],
        axis=1,
    )
    fresh = make_nodes(
        cap,
        node_id=snap.nodes.node_id.max() + 1 + np.arange(count),
        failure_domain=rng.integers(0, int(snap.nodes.failure_domain.max()) + 1, count),
        region=rng.integers(0, int(snap.nodes.region.max()) + 1, count),
        last_heartbeat_s=now,
        joined_at_s=now,
    )
    merged = {
        f.name: np.concatenate([getattr(snap.nodes, f.name), getattr(fresh, f.name)])
        for f in dataclasses.fields(snap.nodes)
    }
    nodes = type(snap.nodes)(**merged)
    kinds = np.concatenate([kind, np.full(count, "newcomer")])
    return dataclasses.replace(snap, nodes=nodes), kinds


def _print_cycle(cycle: int, result: Any, kind: Any) -> None:
    import numpy as np

    plan = result.plan
    ev = Counter((d.reason.value, d.outcome.value) for d in plan.evictions.records())
    pl = Counter(d.reason.value for d in plan.placements.records())
    unplaced = Counter(
        d.failing_filter.value for d in plan.placements.records() if d.failing_filter is not None
    )
    rep = plan.reputation.reputation
    by_kind = {k: float(np.mean(rep[kind == k])) for k in sorted(set(kind.tolist()))}
    tiers = Counter(plan.reputation.tier.tolist())
    print(f"cycle {cycle}  t={plan.now_s:,.0f}s  nodes={rep.shape[0]}")
    print("  reputation by kind: " + ", ".join(f"{k} {v:.3f}" for k, v in by_kind.items()))
    print(f"  tiers: newcomer {tiers[0]}, established {tiers[1]}, trusted {tiers[2]}")
    print(f"  liars caught this cycle: {int(plan.reputation.lying.sum())}")
    print(
        "  evictions: " + (", ".join(f"{r}/{o} x{c}" for (r, o), c in sorted(ev.items())) or "none")
    )
    print("  placements: " + (", ".join(f"{r} x{c}" for r, c in sorted(pl.items())) or "none"))
    if unplaced:
        print("  unplaceable because: " + ", ".join(f"{r} x{c}" for r, c in unplaced.items()))
    print()


def _print_examples(params: Any, cycle: int, snap: Any, now: float, result: Any) -> None:
    from governance.policy import explain_placement

    placed = [d for d in result.plan.placements.records() if d.node >= 0][:3]
    print(f"example decisions (cycle {cycle}):")
    for d in placed:
        factors = ", ".join(f"{k}={v:.3f}" for k, v in d.factors.items())
        print(
            f"  replica {d.replica} -> node {d.node}: {d.reason.value}, "
            f"score {d.score:.3f} ({factors})"
        )
    if placed:
        d = placed[0]
        other = (d.node + 1) % snap.nodes.size
        why = explain_placement(snap, params, now, d.replica, other)
        failing = ", ".join(v.reason.value for v in why.failing) or "none"
        print(
            f"  why not node {other} for replica {d.replica}? failing filters: {failing}; "
            f"score {why.score:.3f} vs best {why.best_score:.3f} on node {why.best_node} "
            f"(gap {why.score_gap:.3f}, on the cycle's input snapshot)"
        )
