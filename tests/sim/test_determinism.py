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


@pytest.mark.parametrize("halves", [False, True], ids=["whole-passes", "halves"])
@pytest.mark.parametrize("name", ["sybil_attack", "colluding_ring", "economic_shock"])
def test_overlapped_economics_gives_the_same_steps_and_book(
    name: str, halves: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Economics on the worker thread (vector `run`) equals the step-by-step path exactly.

    The worker is slowed down, so the next step really runs while it settles: reading buffers
    that step overwrites, or settling too late, would change the results. With ``halves`` the
    overlapped run also splits every pass it can in two (as on big networks), against whole
    passes step by step.
    """
    import time

    import sim.core
    import sim.halves
    from sim.kpis import to_frame

    settle_now = sim.core.settle_step

    def settle_late(*args: object) -> object:
        time.sleep(0.02)
        return settle_now(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(sim.core, "settle_step", settle_late)
    from sim.runner import make_engine, resolve_sizes
    from sim.scenario import load_scenario

    scenario = load_scenario(name)
    sizes = resolve_sizes(scenario, nodes=2_000, steps=12)
    stepped = make_engine("vector", scenario, sizes, 5, None, name)
    overlapped = make_engine("vector", scenario, sizes, 5, None, name)
    one_by_one = to_frame([stepped.step_once() for _ in range(sizes.steps)])
    if halves:
        monkeypatch.setattr(sim.halves, "MIN_ROWS", 1)
    assert to_frame(list(overlapped.run(sizes.steps))).equals(one_by_one)  # NaN == NaN here
    for column in ("balance", "expires_at_step", "income"):
        want = getattr(stepped.core.book, column)
        assert getattr(overlapped.core.book, column).tobytes() == want.tobytes(), column
    assert overlapped.core.controller == stepped.core.controller


def test_a_whole_step_refuses_to_run_over_unsettled_economics(tiny_scenario: Scenario) -> None:
    from sim.engines.vector import VectorEngine
    from sim.errors import SimError
    from sim.runner import make_engine

    engine = make_engine("vector", tiny_scenario, tiny_scenario.sizes, 3, None, "tiny")
    assert isinstance(engine, VectorEngine)
    assert engine.core.step_overlapped(engine.behaviour()) is None  # first step: nothing settled
    with pytest.raises(SimError, match="settle"):
        engine.core.step(engine.behaviour())
    assert engine.core.settle() is not None
    assert engine.core.settle() is None


def test_a_vector_run_hands_the_gil_over_quickly_and_restores_the_interval(
    tiny_scenario: Scenario,
) -> None:
    """While `run` lasts the switch interval is the short one; afterwards the caller's again."""
    import sys

    from sim.halves import SWITCH_INTERVAL_S
    from sim.runner import make_engine, resolve_sizes

    before = sys.getswitchinterval()
    assert before != SWITCH_INTERVAL_S
    sizes = resolve_sizes(tiny_scenario, steps=3)
    engine = make_engine("vector", tiny_scenario, sizes, 3, None, "tiny")
    during = [sys.getswitchinterval() for _ in engine.run(3)]
    assert during == pytest.approx([SWITCH_INTERVAL_S] * 3)  # the interpreter keeps microseconds
    assert sys.getswitchinterval() == before
