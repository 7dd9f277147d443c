"""Every bundled scenario keeps its expected KPI bounds over several seeds (fast and full sizes)."""

from __future__ import annotations

import pytest

from sim.runner import resolve_sizes, run_scenario
from sim.scenario import bundled_scenarios, load_scenario

CASES = [(name, seed) for name in bundled_scenarios() for seed in load_scenario(name).test_seeds]


@pytest.mark.parametrize(("name", "seed"), CASES)
def test_fast_sizes_keep_bounds(name: str, seed: int) -> None:
    scenario = load_scenario(name)
    result = run_scenario(scenario, sizes=resolve_sizes(scenario, fast=True), seed=seed)
    assert result.summary["bound_problems"] == [], result.summary


@pytest.mark.slow
@pytest.mark.parametrize("name", bundled_scenarios())
def test_full_sizes_keep_bounds(name: str) -> None:
    scenario = load_scenario(name)
    for seed in (scenario.seed, *scenario.test_seeds[:1]):
        result = run_scenario(scenario, seed=seed)
        assert result.summary["bound_problems"] == [], (seed, result.summary)


def test_the_policy_beats_the_kubernetes_baseline_against_sybils() -> None:
    scenario = load_scenario("sybil_attack")
    sizes = resolve_sizes(scenario, fast=True)
    run = run_scenario(scenario, sizes=sizes, seed=1)
    ours = run.summary
    k8s = run_scenario(scenario, sizes=sizes, seed=1, policy="baseline").summary
    assert run.frame["sybil_rejoins"].sum() > 0  # the Sybils did cycle their keys
    assert ours["adversary_placement_share_final"] < 0.3 * k8s["adversary_placement_share_final"]
    assert ours["availability_mean"] > k8s["availability_mean"]


@pytest.mark.parametrize("name", bundled_scenarios())
def test_every_scenario_keeps_its_bounds_on_the_mesa_engine(name: str) -> None:
    scenario = load_scenario(name)
    sizes = resolve_sizes(scenario, fast=True)
    result = run_scenario(scenario, engine="mesa", sizes=sizes, seed=scenario.test_seeds[0])
    assert result.summary["bound_problems"] == [], result.summary


@pytest.mark.slow
@pytest.mark.parametrize("name", ["baseline", "sybil_attack"])
def test_full_sizes_keep_bounds_on_the_mesa_engine(name: str) -> None:
    scenario = load_scenario(name)
    result = run_scenario(scenario, engine="mesa")
    assert result.summary["bound_problems"] == [], result.summary


def test_growth_scenario_grows_the_network_tenfold_with_services() -> None:
    scenario = load_scenario("growth")
    sizes = resolve_sizes(scenario, fast=True)
    frame = run_scenario(scenario, sizes=sizes, seed=1).frame
    assert frame["nodes_present"].iloc[-1] == 10 * sizes.nodes
    # Services arrive with the nodes (10x); replicas per service vary (tasks have one).
    assert frame["replicas_desired"].iloc[-1] >= 7 * frame["replicas_desired"].iloc[0]
