"""`hyperbrick bench placement --json` prints rows with the fields the issue names."""

from __future__ import annotations

import json

import pytest

from governance.cli import main


def test_bench_json_rows(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["bench", "placement", "--json", "--sizes", "1500", "--exact-decisions", "400"]
    assert main([*args, "--sampled-decisions", "1500"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = doc["results"]
    assert {r["mode"] for r in rows} == {"exact", "sampled"}
    for r in rows:
        assert {"nodes", "mode", "decisions_per_s", "quality", "peak_rss_bytes"} <= set(r)
        assert r["nodes"] == 1500
        assert r["decisions_per_s"] > 0
        assert r["placed"] == r["decisions"]
    sampled = [r for r in rows if r["mode"] == "sampled"]
    assert 0.9 < sampled[0]["quality"] <= 1.05
