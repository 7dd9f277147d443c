"""Scenario files: the bundled ones load; a bad file fails naming the file, field and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.errors import ScenarioError
from sim.params import policy_params
from sim.scenario import bundled_scenarios, load_scenario

REQUIRED = {
    "baseline",
    "growth",
    "high_churn",
    "sybil_attack",
    "lying_nodes",
    "flash_crowd",
    "regional_outage",
    "economic_shock",
}


def test_the_eight_required_scenarios_are_bundled_with_seeds_and_bounds() -> None:
    names = set(bundled_scenarios())
    assert names >= REQUIRED
    for name in names:
        scenario = load_scenario(name)
        assert scenario.expected, name
        assert scenario.fast_sizes is not None, name
        assert scenario.expected["budget_violations"].max == 0
        policy_params(scenario)  # the policy core accepts the scenario's params
        policy_params(scenario, "baseline")


def test_sybil_scenario_has_thirty_percent_key_cycling_identities() -> None:
    assert load_scenario("sybil_attack").adversaries.sybil == pytest.approx(0.3)
    assert load_scenario("growth").churn.growth_factor == 10


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path


GOOD = (
    "name: x\nseed: 1\nsizes: {nodes: 100, steps: 5}\n"
    "policy_params: {eviction: {heartbeat_ttl_s: 1300}}\n"
)


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        (GOOD.replace("seed: 1", "seed: -1"), "seed", "greater than or equal to 0"),
        (GOOD.replace("nodes: 100", "nodes: lots"), "sizes.nodes", "valid integer"),
        (GOOD + "adversaries: {sybil: 0.7, flaky: 0.5}\n", "adversaries", "must be <= 1"),
        (GOOD + "colour: red\n", "colour", "Extra inputs are not permitted"),
        (GOOD.replace("name: x\n", ""), "name", "Field required"),
        (GOOD + "economics: {protocol_fee_bps: 20000}\n", "economics.protocol_fee_bps", "<="),
        (
            GOOD + "regional_outage: {start_step: 1, duration_steps: 2, region: 99}\n",
            "regional_outage.region",
            "not a region",
        ),
        (
            GOOD + "expected: {availability_mean: {min: high}}\n",
            "expected.availability_mean.min",
            "valid number",
        ),
    ],
)
def test_bad_file_names_file_field_and_reason(
    tmp_path: Path, text: str, field: str, reason: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert f": {field}" in message
    assert reason in message


def test_invalid_policy_params_are_reported_against_the_scenario_file(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("heartbeat_ttl_s: 1300", "heartbeat_ttl_s: -5"))
    scenario = load_scenario(path)
    with pytest.raises(ScenarioError, match=r"policy_params.*heartbeat_ttl_s"):
        policy_params(scenario, source=str(path))


def test_an_unknown_policy_name_is_refused_not_replaced() -> None:
    scenario = load_scenario("baseline")
    assert policy_params(scenario, "baseline") != policy_params(scenario, "hyperbrick")
    with pytest.raises(ScenarioError, match=r"unknown policy 'kubernetes'"):
        policy_params(scenario, "kubernetes")


def test_broken_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"line 3: not valid YAML \(expected ',' or ']'"):
        load_scenario(_write(tmp_path, "name: x\nsizes: [1, 2\n"))
    with pytest.raises(ScenarioError, match=r"no such scenario file .*baseline"):
        load_scenario("no_such_scenario")
