"""`hyperbrick demo` runs cycles on a generated network and explains its decisions."""

from __future__ import annotations

import pytest

from governance.cli import main


def test_demo_prints_cycles_evictions_and_reasons(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--nodes", "400", "--services", "120", "--cycles", "4"]) == 0
    out = capsys.readouterr().out
    for cycle in range(1, 5):
        assert f"cycle {cycle} " in out
    assert "node_dead/executed" in out  # a failure domain goes dark half-way
    assert "placed_best_score" in out
    assert "why not node" in out


def test_demo_runs_the_kubernetes_baseline(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["demo", "--nodes", "300", "--services", "60", "--cycles", "2", "--baseline"]
    assert main(args) == 0
    assert "kubernetes-baseline" in capsys.readouterr().out


def test_demo_bad_params_file_is_one_clean_line(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from pathlib import Path

    file = Path(str(tmp_path)) / "p.toml"
    file.write_text("[eviction]\nbudget_total = -1\n")
    assert main(["demo", "--params", str(file)]) == 2
    err = capsys.readouterr().err
    assert "eviction.budget_total" in err
    assert str(file) in err
    assert "Traceback" not in err
