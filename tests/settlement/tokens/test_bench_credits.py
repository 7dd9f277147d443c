"""`hyperbrick bench credits --json` credits every node once, and a replayed period credits none."""

from __future__ import annotations

import json

import pytest

from governance.cli import main
from settlement.economics.params import PPM, EconomicsParams
from settlement.tokens.earn import ContributionReport, earned_wei


def test_bench_credits_json_rows(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["bench", "credits", "--json", "--nodes", "30", "--single-cap", "10"]
    assert main(args) == 0
    rows = {r["path"]: r for r in json.loads(capsys.readouterr().out)["results"]}
    per_node = earned_wei(ContributionReport("0x" + "00" * 20, 0, 4, PPM), EconomicsParams())
    assert rows["batch"]["wei"] == str(30 * per_node)
    assert rows["batch replay"]["wei"] == "0"
    assert rows["one per node"]["credited"] == 10
    assert rows["one per node"]["wei"] == str(10 * per_node)
    assert all(r["credits_per_s"] > 0 for r in rows.values())
