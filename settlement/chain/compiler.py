"""Compile the Solidity sources through the same solc shim forge and brownie use, into artifacts.

The settings here are the single source of truth for the committed artifacts (foundry.toml mirrors
them for tests). `python -m settlement.chain.compiler` rewrites contracts/artifacts/.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from settlement.chain.errors import CompileError
from settlement.chain.toolchain import CONTRACTS_DIR, solc_shim_path

SOURCES_DIR = CONTRACTS_DIR / "src"
# Contracts that get an artifact (deployable units); libraries and interfaces are inlined.
DEPLOYABLE = ("HyperbrickToken", "HyperbrickSettlement")
EVM_VERSION = "prague"
OPTIMIZER_RUNS = 10_000
COMPILE_TIMEOUT_S = 300.0
SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
    "evmVersion": EVM_VERSION,
    "outputSelection": {
        "*": {
            "*": [
                "abi",
                "evm.bytecode.object",
                "evm.deployedBytecode.object",
                "evm.deployedBytecode.immutableReferences",
                "storageLayout",
            ],
        }
    },
}


def standard_json_input() -> dict[str, Any]:
    """Return solc's standard-JSON input: every source under contracts/src with its content."""
    sources = {
        f"src/{path.name}": {"content": path.read_text(encoding="utf-8")}
        for path in sorted(SOURCES_DIR.glob("*.sol"))
    }
    if not sources:
        raise CompileError(f"no Solidity sources in {SOURCES_DIR}")
    return {"language": "Solidity", "sources": sources, "settings": SETTINGS}


def solc_version() -> str:
    """Return the compiler version the shim reports, e.g. `0.8.37+commit.f401782d`."""
    output = _run_shim(["--version"], stdin=b"")
    for line in output.splitlines():
        if line.startswith("Version: "):
            # Drop the platform suffix: artifacts should not depend on how solc was built.
            return ".".join(line.removeprefix("Version: ").split(".")[:4])
    raise CompileError(f"unexpected `solc --version` output: {output!r}")


def compile_sources() -> dict[str, dict[str, Any]]:
    """Compile every source; return solc's per-contract output keyed by contract name."""
    raw = _run_shim(["--standard-json"], stdin=json.dumps(standard_json_input()).encode())
    output = json.loads(raw)
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError("; ".join(e.get("formattedMessage", e["message"]) for e in errors))
    return {
        name: contract
        for path, contracts in output["contracts"].items()
        if path.startswith("src/")
        for name, contract in contracts.items()
    }


def build_artifacts() -> dict[str, dict[str, Any]]:
    """Compile and return the artifact documents (as committed) of the deployable contracts."""
    version = solc_version()
    compiled = compile_sources()
    artifacts = {}
    for name in DEPLOYABLE:
        contract = compiled[name]
        artifacts[name] = {
            "contractName": name,
            "compiler": {"name": "solc", "version": version},
            "settings": {"optimizerRuns": OPTIMIZER_RUNS, "evmVersion": EVM_VERSION},
            "abi": contract["abi"],
            "bytecode": "0x" + contract["evm"]["bytecode"]["object"],
            "deployedBytecode": "0x" + contract["evm"]["deployedBytecode"]["object"],
            # Byte ranges of the runtime code that the constructor fills in (masked when verifying).
            "immutableReferences": contract["evm"]["deployedBytecode"]["immutableReferences"],
            "storageLayout": contract["storageLayout"],
        }
    return artifacts


def write_artifacts(directory: Path) -> list[Path]:
    """Compile and write one `<Name>.json` per deployable contract into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, document in build_artifacts().items():
        path = directory / f"{name}.json"
        path.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written


def _run_shim(args: list[str], stdin: bytes) -> str:
    node = shutil.which("node")
    if node is None:
        raise CompileError("node is not on PATH; it runs the solc-js compiler")
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv: node + the project's shim
            [node, str(solc_shim_path()), *args],
            input=stdin,
            capture_output=True,
            timeout=COMPILE_TIMEOUT_S,
            cwd=CONTRACTS_DIR,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise CompileError(f"solc did not finish in {COMPILE_TIMEOUT_S:.0f} s") from error
    if result.returncode != 0:
        raise CompileError(f"solc failed: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout.decode()


if __name__ == "__main__":
    from settlement.chain.artifacts import artifacts_dir

    for written_path in write_artifacts(artifacts_dir()):
        print(written_path)
    sys.exit(0)
