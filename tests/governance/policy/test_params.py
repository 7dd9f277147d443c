"""PolicyParams: defaults are valid, round-trip, and invalid values name their field (and file)."""

from __future__ import annotations

import math

import pytest

from governance.errors import InvalidParamsError
from governance.policy import EvictionParams, PolicyParams, kubernetes_baseline


def test_defaults_validate_and_round_trip() -> None:
    params = PolicyParams()
    assert PolicyParams.from_mapping(params.to_mapping()) == params
    assert params.version


def test_kubernetes_baseline_is_expressible() -> None:
    base = kubernetes_baseline()
    assert not base.reputation.enabled
    assert dict(base.placement.scorers) == {"least_allocated": 1.0}
    assert "node_underused" in base.eviction.plugins
    assert "reputation_floor" not in base.eviction.plugins
    assert PolicyParams.from_mapping(base.to_mapping()) == base


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"placement": {"scorers": {"reputation": -1.0}}}, "placement.scorers.reputation"),
        ({"placement": {"scorers": {"spread": math.nan}}}, "placement.scorers.spread"),
        ({"placement": {"scorers": {"nope": 1.0}}}, "placement.scorers.nope"),
        ({"placement": {"filters": ["capacity_fit", "nope"]}}, "placement.filters[1]"),
        ({"placement": {"mode": "fast"}}, "placement.mode"),
        ({"eviction": {"plugins": ["node_dead", "bogus"]}}, "eviction.plugins[1]"),
        ({"eviction": {"budget_total": -1}}, "eviction.budget_total"),
        ({"eviction": {"budget_per_node": -3}}, "eviction.budget_per_node"),
        ({"eviction": {"budget_per_owner": 1.5}}, "eviction.budget_per_owner"),
        ({"eviction": {"notice_s": math.nan}}, "eviction.notice_s"),
        ({"eviction": {"budgett": 1}}, "eviction.budgett"),
        ({"reputation": {"weight_uptime": -0.1}}, "reputation.weight_uptime"),
        ({"reputation": {"enabled": "yes"}}, "reputation.enabled"),
        ({"tiers": {"newcomer_capacity_fraction": 2.0}}, "tiers.newcomer_capacity_fraction"),
        ({"surprise": {}}, "surprise"),
        ({"version": ""}, "version"),
    ],
)
def test_invalid_params_name_field_and_file(data: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidParamsError) as err:
        PolicyParams.from_mapping(data, source="policies/bad.toml")
    assert f"'{field}'" in str(err.value)
    assert "policies/bad.toml" in str(err.value)


def test_direct_construction_is_validated() -> None:
    with pytest.raises(InvalidParamsError, match=r"eviction\.budget_per_node"):
        PolicyParams(eviction=EvictionParams(budget_per_node=-1))
    with pytest.raises(InvalidParamsError, match=r"eviction\.plugins"):
        PolicyParams(eviction=EvictionParams(plugins=("node_dead", "node_dead")))
