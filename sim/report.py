"""The HTML report: headline KPIs, the baseline comparison and plots embedded as PNG (one file)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from settlement.economics import BASE_UNITS_PER_TOKEN

Plot = Callable[[Any, pd.DataFrame, pd.DataFrame | None], None]
_LABELS = {"policy": "Hyperbrick policy", "baseline": "baseline (k8s-like)"}


def _line(ax: Any, main: pd.DataFrame, base: pd.DataFrame | None, column: str, label: str) -> None:
    ax.plot(main["step"], main[column], label=f"{label} ({_LABELS['policy']})")
    if base is not None:
        ax.plot(base["step"], base[column], "--", label=f"{label} ({_LABELS['baseline']})")
    ax.set_xlabel("step")
    ax.legend(fontsize=7)


def _availability(ax: Any, m: pd.DataFrame, b: pd.DataFrame | None) -> None:
    _line(ax, m, b, "availability", "availability")
    ax.set_ylim(0, 1.02)
    ax.set_title("Availability (desired replicas running on healthy nodes)")


def _utilization(ax: Any, m: pd.DataFrame, b: pd.DataFrame | None) -> None:
    _line(ax, m, b, "utilization", "CPU utilization")
    ax.set_title("Utilization of up nodes")


def _evictions(ax: Any, m: pd.DataFrame, b: pd.DataFrame | None) -> None:
    _line(ax, m, b, "evictions", "evictions")
    ax.plot(m["step"], m["evictions_refused"], ":", label="refused by a budget (policy)")
    ax.legend(fontsize=7)
    ax.set_title("Evictions per step")


def _reputation(ax: Any, m: pd.DataFrame, b: pd.DataFrame | None) -> None:
    for kind in ("honest", "flaky", "liar", "sybil", "ring"):
        column = f"rep_{kind}"
        if m[column].notna().any():
            ax.plot(m["step"], m[column], label=kind)
    ax.set_ylim(0, 1)
    ax.set_xlabel("step")
    ax.legend(fontsize=7)
    ax.set_title("Mean reputation by agent type")


def _adversary(ax: Any, m: pd.DataFrame, b: pd.DataFrame | None) -> None:
    _line(ax, m, b, "adversary_placement_share", "share of placements")
    ax.plot(m["step"], m["adversary_revenue_share"], label="share of revenue (policy)")
    ax.legend(fontsize=7)
    ax.set_title("Adversary share of placements and revenue")


def _tokens(ax: Any, m: pd.DataFrame, b: pd.DataFrame | None) -> None:
    ax.plot(m["step"], m["supply_base_units"] / BASE_UNITS_PER_TOKEN, color="tab:blue")
    ax.set_ylabel("supply (tokens)", color="tab:blue")
    ax.set_xlabel("step")
    twin = ax.twinx()
    twin.plot(m["step"], m["price_micro"] / 1e6, color="tab:red")
    twin.set_ylabel("price (reference units)", color="tab:red")
    ax.set_title("Token supply and price")


def _gini(ax: Any, m: pd.DataFrame, b: pd.DataFrame | None) -> None:
    _line(ax, m, b, "gini", "Gini")
    ax.set_ylim(0, 1)
    ax.set_title("Provider-income Gini")


_COMPARED = (
    ("availability", "availability_mean"),
    ("utilization", "utilization"),
    ("adversary\nplacements", "adversary_placement_share"),
    ("adversary\nrevenue", "adversary_revenue_share"),
    ("Gini", "gini"),
)


def _comparison_bars(ax: Any, m: pd.DataFrame, b: pd.DataFrame | None) -> None:
    """Run means of the headline ratios for both policies."""
    import numpy as np

    def means(frame: pd.DataFrame) -> list[float]:
        columns = ["availability" if c == "availability_mean" else c for _, c in _COMPARED]
        return [float(frame[c].mean()) for c in columns]

    x = np.arange(len(_COMPARED))
    ax.bar(x - 0.2, means(m), 0.4, label=_LABELS["policy"])
    if b is not None:
        ax.bar(x + 0.2, means(b), 0.4, label=_LABELS["baseline"])
    ax.set_xticks(x, [label for label, _ in _COMPARED], fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7)
    ax.set_title("Baseline comparison: run means on the same seed")


PLOTS: dict[str, Plot] = {
    "availability": _availability,
    "utilization": _utilization,
    "evictions": _evictions,
    "reputation": _reputation,
    "adversary_share": _adversary,
    "token_supply_price": _tokens,
    "gini": _gini,
    "baseline_comparison": _comparison_bars,
}


def _png(plot: Plot, main: pd.DataFrame, base: pd.DataFrame | None) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.4), dpi=90)
    try:
        plot(ax, main, base)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    finally:
        plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _comparison(summary: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    keys = [k for k, v in summary.items() if isinstance(v, int | float) and not isinstance(v, bool)]
    head = "<tr><th>KPI</th><th>Hyperbrick policy</th>"
    head += "<th>baseline (k8s-like)</th></tr>" if baseline else "</tr>"
    rows = []
    for key in keys:
        other = f"<td>{_fmt(baseline.get(key, ''))}</td>" if baseline else ""
        rows.append(f"<tr><td>{key}</td><td>{_fmt(summary[key])}</td>{other}</tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _highlights(summary: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    """A few plain sentences: what the run shows, against the baseline when there is one."""

    def pct(value: Any) -> str:
        return f"{100 * float(value):.1f}%"

    ours = (
        f"Availability averaged {pct(summary['availability_mean'])} (worst step "
        f"{pct(summary['availability_min'])}); adversaries held "
        f"{pct(summary['adversary_placement_share'])} of running replicas and earned "
        f"{pct(summary['adversary_revenue_share'])} of provider revenue; "
        f"{summary['evictions_per_step']:.1f} evictions per step, "
        f"{summary['eviction_loops']} eviction loops, {summary['budget_violations']} budget "
        f"violations."
    )
    if baseline is None:
        return f"<p>{html.escape(ours)}</p>"
    theirs = (
        f"The Kubernetes-like baseline on the same seed: availability "
        f"{pct(baseline['availability_mean'])}, adversary placements "
        f"{pct(baseline['adversary_placement_share'])}, adversary revenue "
        f"{pct(baseline['adversary_revenue_share'])}, {baseline['evictions_per_step']:.1f} "
        f"evictions per step, {baseline['eviction_loops']} eviction loops."
    )
    return f"<p>{html.escape(ours)}</p><p>{html.escape(theirs)}</p>"


def _bounds(checks: list[str]) -> str:
    if not checks:
        return "<p class='ok'>All expected KPI bounds of the scenario hold.</p>"
    items = "".join(f"<li>{html.escape(c)}</li>" for c in checks)
    return f"<p class='bad'>KPI bounds violated:</p><ul>{items}</ul>"


def render_report(
    path: Path,
    *,
    title: str,
    meta: dict[str, Any],
    frame: pd.DataFrame,
    summary: dict[str, Any],
    baseline_frame: pd.DataFrame | None,
    baseline_summary: dict[str, Any] | None,
    bound_problems: list[str],
) -> Path:
    """Write the self-contained HTML report (plots as base64 PNG) and return its path."""
    images = "".join(
        f"<figure><img alt='{name}' "
        f"src='data:image/png;base64,{_png(plot, frame, baseline_frame)}'>"
        f"<figcaption>{name.replace('_', ' ')}</figcaption></figure>"
        for name, plot in PLOTS.items()
    )
    meta_rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{_fmt(v)}</td></tr>" for k, v in meta.items()
    )
    doc = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1400px}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:2px 8px;
text-align:right}}td:first-child{{text-align:left}}figure{{display:inline-block;margin:4px}}
.ok{{color:#060}}.bad{{color:#b00;font-weight:bold}}</style></head><body>
<h1>{html.escape(title)}</h1>{_highlights(summary, baseline_summary)}
<table>{meta_rows}</table>{_bounds(bound_problems)}
<h2>Plots</h2>{images}
<h2>Hyperbrick policy vs baseline on the same seed</h2>{_comparison(summary, baseline_summary)}
</body></html>
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc, encoding="utf-8")
    return path
