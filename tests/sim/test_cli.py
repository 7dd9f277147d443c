"""`hyperbrick sim run` writes every output; a bad scenario ends with one clean line and exit 2."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from governance.cli import main
from sim.kpis import KPI_COLUMNS
from sim.report import PLOTS


def test_sim_run_writes_parquet_csv_summary_and_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    code = main(
        [
            "sim",
            "run",
            "sybil_attack",
            "--nodes",
            "400",
            "--steps",
            "8",
            "--seed",
            "3",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    frame = pd.read_parquet(out / "steps.parquet")
    assert list(frame.columns) == list(KPI_COLUMNS)
    assert len(frame) == 8 == len(pd.read_csv(out / "steps.csv"))
    assert len(pd.read_parquet(out / "baseline_steps.parquet")) == 8
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 3
    assert summary["engine"] == "vector"
    assert summary["baseline"]["policy"] == "baseline"
    html = (out / "report.html").read_text()
    assert len(re.findall(r"src='data:image/png;base64,[A-Za-z0-9+/=]{200,}'", html)) == len(PLOTS)
    assert "baseline (k8s-like)" in html
    assert "The Kubernetes-like baseline on the same seed: availability" in html
    printed = capsys.readouterr().out
    assert str((out / "report.html").resolve()) in printed


def test_mesa_engine_from_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "mesa"
    assert (
        main(
            [
                "sim",
                "run",
                "baseline",
                "--engine",
                "mesa",
                "--nodes",
                "300",
                "--steps",
                "4",
                "--out",
                str(out),
                "--quiet",
                "--no-baseline",
            ]
        )
        == 0
    )
    assert json.loads((out / "summary.json").read_text())["engine"] == "mesa"


def test_bad_scenario_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nseed: 1\nsizes: {nodes: 5, steps: 1}\n")
    assert main(["sim", "run", str(bad), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert f"{bad}: sizes.nodes: Input should be greater than or equal to 10" in err


def test_bench_quick_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "sim", "--json", "--rows", "vector:2000", "--steps", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    row = data["results"][0]
    assert {"engine", "nodes", "node_steps_per_s", "peak_rss_bytes"} <= set(row)
    assert row["engine"] == "vector"
    assert row["nodes"] == 2000
    assert row["node_steps_per_s"] > 0
    assert row["peak_rss_bytes"] > 10**7
