"""Run a scenario with an engine: step loop, progress bar, KPI frame, summary and result hash."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sim.core import new_core
from sim.engines import ENGINES, Engine
from sim.errors import SimError
from sim.kpis import check_bounds, result_hash, summarize, to_frame
from sim.scenario import Scenario, Sizes


@dataclass(frozen=True, slots=True)
class RunResult:
    """Per-step KPIs and the run summary (with its hash, seed and sizes)."""

    frame: pd.DataFrame
    summary: dict[str, Any]


def make_engine(
    name: str, scenario: Scenario, sizes: Sizes, seed: int, policy: str | None, source: str
) -> Engine:
    """Build the initial state and wrap it in the named engine."""
    core = new_core(scenario, sizes, seed, policy, source)
    if name == "vector":
        from sim.engines.vector import VectorEngine

        return VectorEngine(core)
    if name == "mesa":
        from sim.engines.mesa_model import HyperbrickModel

        return HyperbrickModel(core)
    raise SimError(f"unknown engine {name!r} (known: {', '.join(ENGINES)})")


def resolve_sizes(
    scenario: Scenario, *, nodes: int | None = None, steps: int | None = None, fast: bool = False
) -> Sizes:
    """The scenario's sizes (or its fast sizes) with command-line overrides."""
    sizes = scenario.fast_sizes if fast and scenario.fast_sizes else scenario.sizes
    update = {k: v for k, v in (("nodes", nodes), ("steps", steps)) if v is not None}
    if not update:
        return sizes
    return Sizes(**{**sizes.model_dump(), **update})


def run_scenario(
    scenario: Scenario,
    *,
    engine: str = "vector",
    sizes: Sizes | None = None,
    seed: int | None = None,
    policy: str | None = None,
    progress: bool = False,
    source: str = "scenario",
) -> RunResult:
    """Run every step of `scenario`; return the KPI frame and the summary."""
    sizes = sizes or scenario.sizes
    seed = scenario.seed if seed is None else seed
    eng = make_engine(engine, scenario, sizes, seed, policy, source)
    from tqdm import tqdm

    label = f"{scenario.name} [{engine}, {policy or scenario.policy}]"
    started = time.perf_counter()
    rows = []
    with tqdm(
        total=sizes.steps,
        desc=label,
        unit="step",
        disable=not progress,
        file=sys.stderr,
        leave=False,
    ) as bar:
        for kpis in eng.run(sizes.steps):
            rows.append(kpis)
            bar.update(1)
    wall_s = time.perf_counter() - started
    frame = to_frame(rows)
    summary: dict[str, Any] = {
        "scenario": scenario.name,
        "engine": engine,
        "policy": policy or scenario.policy,
        "policy_version": eng.core.params.version,
        "seed": seed,
        "nodes": sizes.nodes,
        "steps_requested": sizes.steps,
        **summarize(frame),
        "result_hash": result_hash(frame),
        "wall_s": wall_s,
        "node_steps_per_s": sizes.nodes * sizes.steps / wall_s if wall_s > 0 else 0.0,
    }
    expected = {k: (b.min, b.max) for k, b in scenario.expected.items()}
    summary["bound_problems"] = check_bounds(summary, expected)
    return RunResult(frame=frame, summary=summary)
