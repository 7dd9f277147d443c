"""Run outputs on disk: per-step KPIs as Parquet and CSV, and the summary JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_steps(frame: pd.DataFrame, out_dir: Path, stem: str = "steps") -> dict[str, Path]:
    """Write the per-step frame as Parquet and CSV; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    parquet = out_dir / f"{stem}.parquet"
    csv = out_dir / f"{stem}.csv"
    frame.to_parquet(parquet, index=False)
    frame.to_csv(csv, index=False)
    return {"parquet": parquet, "csv": csv}


def write_summary(summary: dict[str, Any], out_dir: Path, name: str = "summary.json") -> Path:
    """Write the summary (scenario, seed, engine, KPIs, bounds check) as JSON."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    clean = {k: _jsonable(v) for k, v in summary.items()}
    path.write_text(json.dumps(clean, indent=2, sort_keys=True, default=str) + "\n")
    return path
