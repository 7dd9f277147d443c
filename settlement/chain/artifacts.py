"""Load the committed compiled contracts (ABI, bytecode, compiler version); no node at run time."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from settlement.chain.errors import ArtifactError
from settlement.chain.toolchain import CONTRACTS_DIR

# An installed (non-editable) copy can point at the artifacts elsewhere.
ARTIFACTS_ENV = "HYPERBRICK_ARTIFACTS_DIR"
TOKEN = "HyperbrickToken"  # noqa: S105 - a contract name, not a secret
SETTLEMENT = "HyperbrickSettlement"


@dataclass(frozen=True, slots=True)
class Artifact:
    """One compiled contract as committed under contracts/artifacts/."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    compiler_version: str
    sha256: str

    immutable_ranges: tuple[tuple[int, int], ...]

    def __iter__(self) -> Iterator[Any]:
        """Unpack as `abi, bytecode, compiler_version = load_artifact(name)`."""
        return iter((self.abi, self.bytecode, self.compiler_version))

    def runtime_matches(self, code: bytes, *, ignore_metadata: bool = False) -> bool:
        """Return whether on-chain `code` is this contract's runtime code (immutables masked).

        With `ignore_metadata`, the trailing CBOR metadata (source paths and hashes) is left out:
        the same sources compiled under other file names (e.g. by brownie) still match.
        """
        expected = bytearray.fromhex(self.deployed_bytecode.removeprefix("0x"))
        if ignore_metadata:
            code, expected = (
                _strip_metadata(bytes(code)),
                bytearray(_strip_metadata(bytes(expected))),
            )
        if len(code) != len(expected):
            return False
        actual = bytearray(code)
        for start, length in self.immutable_ranges:
            actual[start : start + length] = bytes(length)
            expected[start : start + length] = bytes(length)
        return actual == expected


def artifacts_dir() -> Path:
    """Return the folder holding the committed artifacts."""
    override = os.environ.get(ARTIFACTS_ENV)
    return Path(override) if override else CONTRACTS_DIR / "artifacts"


def load_artifact(name: str) -> Artifact:
    """Return the committed artifact of contract `name` (e.g. "HyperbrickSettlement")."""
    path = artifacts_dir() / f"{name}.json"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ArtifactError(f"no artifact for {name!r} at {path}") from None
    try:
        document = json.loads(raw)
        return Artifact(
            name=document["contractName"],
            abi=document["abi"],
            bytecode=document["bytecode"],
            deployed_bytecode=document["deployedBytecode"],
            compiler_version=document["compiler"]["version"],
            sha256=hashlib.sha256(raw).hexdigest(),
            immutable_ranges=tuple(
                (int(ref["start"]), int(ref["length"]))
                for refs in document.get("immutableReferences", {}).values()
                for ref in refs
            ),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise ArtifactError(f"malformed artifact {path}: {error!r}") from error


def _strip_metadata(code: bytes) -> bytes:
    """Drop solc's CBOR metadata: its length is the last two bytes, big-endian."""
    if len(code) < 2:
        return code
    length = int.from_bytes(code[-2:], "big") + 2
    return code[:-length] if length <= len(code) else code
