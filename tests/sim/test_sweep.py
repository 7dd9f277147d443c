"""Sweeps: grid x seeds on a Dask LocalCluster (127.0.0.1) and on local processes, to disk."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from sim.errors import ScenarioError, SimError
from sim.sweep import build_tasks, parse_grid, run_sweep, run_task, stream_results

GRID = "policy_params.eviction.budget_total=50,500;adversaries.flaky=0.0,0.2"


def test_parse_grid_and_file(tmp_path: Path) -> None:
    assert parse_grid("a.b=1,2;c=x") == {"a.b": [1, 2], "c": ["x"]}
    grid_file = tmp_path / "grid.yaml"
    grid_file.write_text("churn.leave_p: [0.0, 0.01]\n")
    assert parse_grid(str(grid_file)) == {"churn.leave_p": [0.0, 0.01]}
    with pytest.raises(SimError, match="not FIELD=V1,V2"):
        parse_grid("nonsense")


def test_every_grid_point_is_validated_before_running() -> None:
    with pytest.raises(ScenarioError, match=r"grid point .*adversaries.flaky"):
        build_tasks("baseline", {"adversaries.flaky": [0.1, 7.0]}, seeds=1)


def test_stream_keeps_a_bounded_window_in_flight() -> None:
    in_flight: list[int] = []
    peak = 0
    sunk: list[dict[str, Any]] = []

    def submit(task: dict[str, Any]) -> int:
        nonlocal peak
        in_flight.append(task["i"])
        peak = max(peak, len(in_flight))
        return int(task["i"])

    def completed(futures: list[int]) -> Iterator[int]:
        done = futures[0]
        in_flight.remove(done)
        yield done

    count = stream_results(
        [{"i": i} for i in range(50)],
        submit,
        completed,
        lambda f: {"i": f},
        window=4,
        sink=sunk.append,
    )
    assert count == 50
    assert peak == 4
    assert [r["i"] for r in sunk] == list(range(50))


def _check(out: Path, runs: int) -> None:
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == runs
    frame = pd.read_parquet(out / "results.parquet")
    assert len(frame) == runs == len(pd.read_csv(out / "results.csv"))
    assert set(frame["param.adversaries.flaky"]) == {0.0, 0.2}
    assert frame["budget_violations"].max() == 0
    assert {r["seed"] for r in map(json.loads, lines)} == {20261122, 20261123}


def test_sweep_on_a_dask_localcluster(tmp_path: Path) -> None:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None, processes=True
    ) as cluster:
        out = run_sweep(
            "baseline",
            grid=parse_grid(GRID),
            seeds=2,
            nodes=300,
            steps=5,
            scheduler=cluster.scheduler_address,
            out=tmp_path / "dask",
        )
    _check(out, runs=8)


def test_sweep_on_local_processes_matches_an_in_process_run(tmp_path: Path) -> None:
    out = run_sweep(
        "baseline",
        grid=parse_grid(GRID),
        seeds=2,
        nodes=300,
        steps=5,
        workers=2,
        out=tmp_path / "local",
    )
    _check(out, runs=8)
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    task = build_tasks("baseline", parse_grid(GRID), seeds=2, nodes=300, steps=5)[3]
    direct = run_task(task)
    twin = [
        r
        for r in rows
        if r["seed"] == task["seed"] and all(r[f"param.{k}"] == v for k, v in task["point"].items())
    ]
    assert [r["result_hash"] for r in twin] == [direct["result_hash"]]  # same across processes


def test_sweep_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from governance.cli import main

    out = tmp_path / "cli"
    code = main(
        [
            "sim",
            "sweep",
            "baseline",
            "--grid",
            "churn.leave_p=0.0,0.01",
            "--seeds",
            "1",
            "--nodes",
            "200",
            "--steps",
            "3",
            "--workers",
            "1",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert len(pd.read_csv(out / "results.csv")) == 2
    assert str(out) in capsys.readouterr().out
