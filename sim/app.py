"""`sim run` end to end: run the scenario and the baseline on the same seed, write every output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sim.output import write_steps, write_summary
from sim.report import render_report
from sim.runner import RunResult, resolve_sizes, run_scenario
from sim.scenario import load_scenario

HEADLINE = (
    "availability_mean",
    "sla_violations_total",
    "placement_failures_total",
    "evictions_per_step",
    "eviction_loops",
    "budget_violations",
    "adversary_placement_share",
    "adversary_revenue_share",
    "utilization_mean",
    "price_volatility",
    "gini_final",
)


def run_and_report(
    scenario_ref: str,
    *,
    engine: str = "vector",
    nodes: int | None = None,
    steps: int | None = None,
    seed: int | None = None,
    fast: bool = False,
    policy: str | None = None,
    out: Path | None = None,
    baseline: bool = True,
    progress: bool = True,
) -> RunResult:
    """Run, compare with the baseline, write Parquet/CSV, summary JSON and the HTML report."""
    scenario = load_scenario(scenario_ref)
    sizes = resolve_sizes(scenario, nodes=nodes, steps=steps, fast=fast)
    seed = scenario.seed if seed is None else seed
    source = str(scenario_ref)
    out = out or Path("runs") / f"{scenario.name}-{engine}-n{sizes.nodes}-seed{seed}"
    main = run_scenario(
        scenario,
        engine=engine,
        sizes=sizes,
        seed=seed,
        policy=policy,
        progress=progress,
        source=source,
    )
    other = None
    if baseline and (policy or scenario.policy) != "baseline":
        other = run_scenario(
            scenario,
            engine=engine,
            sizes=sizes,
            seed=seed,
            policy="baseline",
            progress=progress,
            source=source,
        )
    paths = _write(main, other, out, scenario.name, scenario.description, sizes.steps)
    _print(main, other, paths)
    return main


def _write(
    main: RunResult, other: RunResult | None, out: Path, name: str, description: str, steps: int
) -> dict[str, Path]:
    """Write Parquet/CSV for both runs, the summary JSON and the HTML report; return the paths."""
    paths = write_steps(main.frame, out)
    if other is not None:
        write_steps(other.frame, out, stem="baseline_steps")
    summary: dict[str, Any] = dict(main.summary)
    summary["baseline"] = other.summary if other is not None else None
    paths["summary"] = write_summary(summary, out)
    s = main.summary
    paths["report"] = render_report(
        out / "report.html",
        title=f"Hyperbrick simulation: {name}",
        meta={
            "scenario": name,
            "description": description,
            "engine": s["engine"],
            "seed": s["seed"],
            "nodes": s["nodes"],
            "steps": steps,
            "policy": s["policy_version"],
            "result hash": s["result_hash"],
            "wall time (s)": round(s["wall_s"], 2),
        },
        frame=main.frame,
        summary={k: v for k, v in s.items() if k != "bound_problems"},
        baseline_frame=other.frame if other is not None else None,
        baseline_summary=other.summary if other is not None else None,
        bound_problems=s["bound_problems"],
    )
    return paths


def _print(main: RunResult, other: RunResult | None, paths: dict[str, Path]) -> None:
    s = main.summary
    print(
        f"{s['scenario']}: {s['engine']} engine, {s['nodes']} nodes x {s['steps']} steps, "
        f"seed {s['seed']}, {s['wall_s']:.1f} s ({s['node_steps_per_s']:,.0f} node-steps/s)"
    )
    for key in HEADLINE:
        base = f"   baseline {other.summary[key]:.4g}" if other is not None else ""
        print(f"  {key:28s} {s[key]:.4g}{base}")
    bounds = s["bound_problems"]
    print("  KPI bounds: " + ("all hold" if not bounds else json.dumps(bounds)))
    for name, path in paths.items():
        print(f"  {name:8s} {path}")
    print(f"Open the report: {paths['report'].resolve()}")
