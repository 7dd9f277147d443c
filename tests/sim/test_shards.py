"""Sharded steps: a network too big for memory is stepped one independent cell at a time."""

from __future__ import annotations

from sim.shards import sharded_step


def test_sharded_step_covers_every_node_and_extrapolates() -> None:
    done = sharded_step(1_000, 400, warm_steps=1)
    row = done.as_row()
    assert [s["nodes"] for s in done.per_shard] == [400, 400, 200]
    assert row["complete"] is True
    assert row["budget_violations"] == 0
    assert 0.9 < row["availability"] <= 1.0
    partial = sharded_step(10_000, 400, max_shards=2).as_row()
    assert partial["complete"] is False
    assert partial["nodes_measured"] == 800
    assert partial["extrapolated_step_s"] > partial["measured_step_s"]
    assert partial["placements"] > 0  # a first step places the cell's replicas
