"""Params files: the example loads to the defaults; errors name the field and the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from governance.errors import InvalidParamsError
from governance.params_file import load_params
from governance.policy import PolicyParams, kubernetes_baseline

EXAMPLE = Path(__file__).parents[2] / "governance" / "params.example.toml"


def test_example_file_documents_exactly_the_defaults() -> None:
    assert load_params(EXAMPLE) == PolicyParams()


def test_yaml_and_toml_agree(tmp_path: Path) -> None:
    yml = tmp_path / "p.yaml"
    yml.write_text("version: v2\nplacement:\n  mode: exact\n  scorers: {least_allocated: 2.0}\n")
    toml = tmp_path / "p.toml"
    toml.write_text(
        'version = "v2"\n[placement]\nmode = "exact"\nscorers = {least_allocated = 2.0}\n'
    )
    assert load_params(yml) == load_params(toml)
    assert load_params(yml).placement.mode == "exact"


def test_baseline_round_trips_through_yaml(tmp_path: Path) -> None:
    import yaml

    file = tmp_path / "baseline.yml"
    file.write_text(yaml.safe_dump(kubernetes_baseline().to_mapping()))
    assert load_params(file) == kubernetes_baseline()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("[placement.scorers]\nreputation = -1.0\n", "placement.scorers.reputation"),
        ("[placement.scorers]\nspread = nan\n", "placement.scorers.spread"),
        ('[placement]\nfilters = ["capacity_fit", "telepathy"]\n', "placement.filters[1]"),
        ("[eviction]\nbudget_per_owner = -2\n", "eviction.budget_per_owner"),
        ("[eviction]\nplugins = ['node_dead', 'vibes']\n", "eviction.plugins[1]"),
    ],
)
def test_invalid_file_names_field_and_file(tmp_path: Path, body: str, field: str) -> None:
    file = tmp_path / "policy.toml"
    file.write_text(body)
    with pytest.raises(InvalidParamsError) as err:
        load_params(file)
    assert f"'{field}'" in str(err.value)
    assert str(file) in str(err.value)


def test_unreadable_or_malformed_files_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidParamsError, match=r"missing\.toml"):
        load_params(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[placement\n")
    with pytest.raises(InvalidParamsError, match="not valid TOML"):
        load_params(bad)
    with pytest.raises(InvalidParamsError, match="expected one of"):
        load_params(tmp_path / "params.json")
