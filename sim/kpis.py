"""KPIs: one row per step (collected by the engines) and the run summary computed from them."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, fields

import numpy as np
import pandas as pd

from settlement.economics import BASE_UNITS_PER_TOKEN, price_volatility

#: A live replica evicted by the policy this many times within `LOOP_WINDOW_STEPS` is an eviction
#: loop (target 0); evictions from dead nodes do not count.
LOOP_EVICTIONS = 3
LOOP_WINDOW_STEPS = 20


@dataclass(frozen=True, slots=True)
class StepKpis:
    """The figures of one step. Money columns are integer base units / micro units."""

    step: int
    nodes_present: int
    nodes_up: int
    replicas_desired: int
    availability: float
    sla_violations: int
    requests: int
    requests_failed: int
    placements: int
    placement_failures: int
    evictions: int
    evictions_refused: int
    budget_violations: int
    notice_violations: int
    eviction_loops: int
    sybil_rejoins: int
    adversary_placement_share: float
    adversary_revenue_share: float
    utilization: float
    supply_base_units: int
    price_micro: int
    emission_ppm: int
    velocity: float
    gini: float
    rep_honest: float
    rep_flaky: float
    rep_liar: float
    rep_sybil: float
    rep_ring: float


KPI_COLUMNS = tuple(f.name for f in fields(StepKpis))


def to_frame(rows: list[StepKpis]) -> pd.DataFrame:
    """The per-step KPI frame (column order fixed by `StepKpis`)."""
    return pd.DataFrame([asdict(r) for r in rows], columns=list(KPI_COLUMNS))


def result_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of the KPI frame in a canonical text form: same seed => same hash."""
    text = frame.to_csv(index=False, float_format="%.12g", lineterminator="\n")
    return hashlib.sha256(text.encode()).hexdigest()


def summarize(frame: pd.DataFrame) -> dict[str, float | int]:
    """Run-level KPIs, the names used by scenario `expected` bounds."""
    revenue_share = frame["adversary_revenue_share"]
    return {
        "steps": len(frame),
        "nodes_final": int(frame["nodes_present"].iloc[-1]),
        "availability_mean": float(frame["availability"].mean()),
        "availability_min": float(frame["availability"].min()),
        "availability_final": float(frame["availability"].tail(5).mean()),
        "sla_violations_total": int(frame["sla_violations"].sum()),
        "sla_violations_per_step": float(frame["sla_violations"].mean()),
        "request_failure_rate": float(
            frame["requests_failed"].sum() / max(int(frame["requests"].sum()), 1)
        ),
        "placement_failures_total": int(frame["placement_failures"].sum()),
        "placement_failures_per_step": float(frame["placement_failures"].mean()),
        "evictions_per_step": float(frame["evictions"].mean()),
        "eviction_loops": int(frame["eviction_loops"].sum()),
        "budget_violations": int(frame["budget_violations"].sum()),
        "notice_violations": int(frame["notice_violations"].sum()),
        "adversary_placement_share": float(frame["adversary_placement_share"].mean()),
        "adversary_placement_share_final": float(frame["adversary_placement_share"].tail(5).mean()),
        "adversary_revenue_share": float(revenue_share.mean()),
        "utilization_mean": float(frame["utilization"].mean()),
        "price_volatility": price_volatility([int(p) for p in frame["price_micro"]]),
        "price_final_micro": int(frame["price_micro"].iloc[-1]),
        "supply_final_tokens": float(frame["supply_base_units"].iloc[-1] / BASE_UNITS_PER_TOKEN),
        "gini_final": float(frame["gini"].iloc[-1]),
        "velocity_mean": float(frame["velocity"].mean()),
        "rep_honest_final": float(frame["rep_honest"].iloc[-1]),
        "rep_adversary_final": float(
            np.nanmean(frame[["rep_liar", "rep_sybil", "rep_ring"]].iloc[-1].to_numpy())
        )
        if frame[["rep_liar", "rep_sybil", "rep_ring"]].iloc[-1].notna().any()
        else float("nan"),
    }


def check_bounds(
    summary: dict[str, float | int], expected: dict[str, tuple[float | None, float | None]]
) -> list[str]:
    """Return one message per KPI outside its expected bounds (empty = all within)."""
    problems = []
    for name, (low, high) in expected.items():
        if name not in summary:
            problems.append(f"{name}: not a KPI (known: {', '.join(sorted(summary))})")
            continue
        value = float(summary[name])
        if (low is not None and not value >= low) or (high is not None and not value <= high):
            problems.append(f"{name} = {value:.6g} outside [{low}, {high}]")
    return problems
