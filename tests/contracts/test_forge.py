"""Run the Foundry suites (unit, fuzz, invariant) from pytest, each in its own output folders."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from settlement.chain.toolchain import CONTRACTS_DIR, tool_path

MIN_INVARIANT_CALLS = 10_000


def _forge_test(tmp_path: Path, profile: str, *args: str) -> str:
    """Run `forge test` offline under `profile`; fail the test with forge's output on failure."""
    env = {
        **os.environ,
        "FOUNDRY_PROFILE": profile,
        # Private build folders: concurrent pytest runs must not share forge's out/ and cache/.
        "FOUNDRY_OUT": str(tmp_path / "out"),
        "FOUNDRY_CACHE_PATH": str(tmp_path / "cache"),
        "NO_COLOR": "1",
    }
    result = subprocess.run(
        [str(tool_path("forge")), "test", "--offline", *args],
        cwd=CONTRACTS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    return output


def _passed(output: str) -> int:
    return sum(int(n) for n in re.findall(r"(\d+) tests passed, 0 failed", output))


def test_forge_unit_fuzz_and_short_invariants(tmp_path: Path) -> None:
    output = _forge_test(tmp_path, "default")
    assert "[FAIL" not in output
    assert _passed(output) >= 30, output[-3000:]
    assert "invariant_conservationOfFunds" in output


@pytest.mark.fuzz
def test_forge_invariants_ci_depth(tmp_path: Path) -> None:
    output = _forge_test(tmp_path, "ci", "--match-contract", "Invariant")
    calls = [int(n) for n in re.findall(r"\(runs: \d+, calls: (\d+), reverts: \d+\)", output)]
    assert len(calls) == 4, output[-3000:]
    assert min(calls) >= MIN_INVARIANT_CALLS, calls


@pytest.mark.fuzz
def test_forge_fuzz_ci_runs(tmp_path: Path) -> None:
    output = _forge_test(tmp_path, "ci", "--no-match-contract", "Invariant")
    runs = [int(n) for n in re.findall(r"testFuzz_\w+\([^)]*\) \(runs: (\d+),", output)]
    assert runs, output[-3000:]
    assert min(runs) >= 2_000, runs
