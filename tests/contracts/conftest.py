"""Tool environments for the contracts lanes (slither, brownie): built on first use through make."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from settlement.chain.toolchain import REPO_ROOT

ENV_BUILD_TIMEOUT_S = 900


def ensure_tool_env(name: str) -> Path:
    """Build `.venv-<name>` via its make stamp (a no-op when up to date); return its bin folder."""
    stamp = f".venv-{name}/.installed"
    result = subprocess.run(
        ["make", "--no-print-directory", stamp],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=ENV_BUILD_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, f"`make {stamp}` failed:\n{result.stdout}\n{result.stderr}"
    return REPO_ROOT / f".venv-{name}" / "bin"


@pytest.fixture(scope="session")
def tools_bin() -> Path:
    """The bin folder of .venv-tools (slither)."""
    return ensure_tool_env("tools")


@pytest.fixture(scope="session")
def brownie_bin() -> Path:
    """The bin folder of .venv-brownie (eth-brownie)."""
    return ensure_tool_env("brownie")
