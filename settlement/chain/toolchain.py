"""Locate the pinned npm toolchain (anvil, forge, solc-js) under contracts/node_modules."""

from __future__ import annotations

import os
from pathlib import Path

from settlement.errors import FatalSettlementError

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_DIR = REPO_ROOT / "contracts"
# An installed (non-editable) copy can point at a node_modules elsewhere.
NODE_MODULES_ENV = "HYPERBRICK_NODE_MODULES"

_BINARIES = {
    "anvil": ("@foundry-rs", "anvil-linux-amd64", "bin", "anvil"),
    "forge": ("@foundry-rs", "forge-linux-amd64", "bin", "forge"),
}


def node_modules_dir() -> Path:
    """Return the node_modules folder holding the pinned npm parts."""
    override = os.environ.get(NODE_MODULES_ENV)
    return Path(override) if override else CONTRACTS_DIR / "node_modules"


def tool_path(name: str) -> Path:
    """Return the path of a pinned npm binary, or fail saying how to install it."""
    try:
        parts = _BINARIES[name]
    except KeyError:
        raise FatalSettlementError(f"unknown tool {name!r}; known: {sorted(_BINARIES)}") from None
    path = node_modules_dir().joinpath(*parts)
    if not path.is_file():
        raise FatalSettlementError(
            f"{name} is not installed at {path}; run `make setup` (npm ci in contracts/)"
        )
    return path


def solc_shim_path() -> Path:
    """Return the solc shim (native solc CLI over npm solc-js) used by forge, brownie, Python."""
    path = CONTRACTS_DIR / "tools" / "solc"
    solcjs = node_modules_dir() / "solc" / "soljson.js"
    if not solcjs.is_file():
        raise FatalSettlementError(
            f"solc-js is not installed at {solcjs}; run `make setup` (npm ci in contracts/)"
        )
    return path
