"""The committed artifacts load, match a fresh compile, and fit the contracts' assumptions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from settlement.chain import compiler
from settlement.chain.artifacts import (
    ARTIFACTS_ENV,
    SETTLEMENT,
    TOKEN,
    artifacts_dir,
    load_artifact,
)
from settlement.chain.errors import ArtifactError


@pytest.fixture(scope="module")
def fresh() -> dict[str, dict[str, object]]:
    """Artifacts rebuilt from the sources now (~2 s through solc-js)."""
    return compiler.build_artifacts()


@pytest.mark.parametrize("name", compiler.DEPLOYABLE)
def test_committed_artifact_is_not_stale(name: str, fresh: dict[str, dict[str, object]]) -> None:
    committed = json.loads((artifacts_dir() / f"{name}.json").read_text())
    for key in ("abi", "bytecode", "deployedBytecode", "compiler", "settings"):
        assert committed[key] == fresh[name][key], (
            f"contracts/artifacts/{name}.json is stale ({key}); "
            "run `.venv/bin/python -m settlement.chain.compiler` and commit the result"
        )


def test_load_artifact_unpacks_to_abi_bytecode_version() -> None:
    abi, bytecode, version = load_artifact(SETTLEMENT)
    assert any(entry.get("name") == "payout" for entry in abi)
    assert bytecode.startswith("0x60")
    assert version.startswith("0.8.37+commit.")


def test_token_balances_slot_matches_the_storage_layout() -> None:
    # HyperbrickToken writes balances in assembly at a hard-coded slot (_BALANCES_SLOT = 0).
    layout = json.loads((artifacts_dir() / f"{TOKEN}.json").read_text())["storageLayout"]
    slots = {entry["label"]: int(entry["slot"]) for entry in layout["storage"]}
    assert slots["_balances"] == 0


def test_missing_artifact_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ARTIFACTS_ENV, str(tmp_path))
    with pytest.raises(ArtifactError, match="no artifact for 'HyperbrickToken'"):
        load_artifact(TOKEN)
    (tmp_path / f"{TOKEN}.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="malformed"):
        load_artifact(TOKEN)


def test_runtime_match_masks_immutables_only() -> None:
    artifact = load_artifact(SETTLEMENT)
    code = bytearray.fromhex(artifact.deployed_bytecode[2:])
    start, length = artifact.immutable_ranges[0]
    code[start : start + length] = b"\x11" * length  # a constructor-filled value
    assert artifact.runtime_matches(bytes(code))
    code[0] ^= 0xFF
    assert not artifact.runtime_matches(bytes(code))
