"""Same scenario and seed => identical result hash (both engines); another seed => another hash."""

from __future__ import annotations

import pytest

from sim.runner import run_scenario
from sim.scenario import Scenario


@pytest.mark.parametrize("engine", ["vector", "mesa"])
def test_same_seed_same_hash(tiny_scenario: Scenario, engine: str) -> None:
    first = run_scenario(tiny_scenario, engine=engine, seed=11)
    second = run_scenario(tiny_scenario, engine=engine, seed=11)
    assert first.summary["result_hash"] == second.summary["result_hash"]
    assert first.frame.equals(second.frame)


def test_other_seed_other_hash(tiny_scenario: Scenario) -> None:
    first = run_scenario(tiny_scenario, seed=11)
    other = run_scenario(tiny_scenario, seed=12)
    assert first.summary["result_hash"] != other.summary["result_hash"]
