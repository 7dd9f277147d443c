"""Named networks (local, sepolia, zksync-sepolia) from contracts/networks.toml; secrets: env."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from settlement.chain.anvil import DEV_PRIVATE_KEYS
from settlement.chain.errors import MissingKeyError, NetworkConfigError
from settlement.chain.toolchain import CONTRACTS_DIR, REPO_ROOT

NETWORKS_FILE = CONTRACTS_DIR / "networks.toml"
_REQUIRED = {"chain_id": int, "rpc_url_env": str, "key_env": str, "confirmations": int}
_OPTIONAL = {"rpc_url_file": str, "dev_key": bool}


@dataclass(frozen=True, slots=True)
class Network:
    """One named network: which chain to expect and where its URL and key come from."""

    name: str
    chain_id: int
    rpc_url_env: str
    key_env: str
    confirmations: int
    rpc_url_file: str | None = None
    dev_key: bool = False

    def rpc_url(self) -> str:
        """Return the RPC URL from the environment (or, for local, the file `chain up` wrote)."""
        url = os.environ.get(self.rpc_url_env, "").strip()
        if url:
            return url
        if self.rpc_url_file:
            path = REPO_ROOT / self.rpc_url_file
            if path.is_file():
                return path.read_text(encoding="utf-8").strip()
        hint = " (or run `hyperbrick chain up`)" if self.rpc_url_file else ""
        raise NetworkConfigError(
            f"network {self.name!r}: set {self.rpc_url_env} to its RPC URL{hint}"
        )


def load_networks(path: Path = NETWORKS_FILE) -> dict[str, Network]:
    """Parse and validate the networks file; errors name the file and the field."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NetworkConfigError(f"{path}: no such networks file") from None
    except tomllib.TOMLDecodeError as error:
        raise NetworkConfigError(f"{path}: {error}") from error
    networks = {}
    for name, table in document.get("networks", {}).items():
        for field, kind in {**_REQUIRED, **_OPTIONAL}.items():
            if field not in table and field in _REQUIRED:
                raise NetworkConfigError(f"{path}: networks.{name}.{field} is missing")
            if field in table and not isinstance(table[field], kind):
                raise NetworkConfigError(f"{path}: networks.{name}.{field} must be {kind.__name__}")
        unknown = set(table) - set(_REQUIRED) - set(_OPTIONAL)
        if unknown:
            raise NetworkConfigError(f"{path}: networks.{name}: unknown fields {sorted(unknown)}")
        if table["confirmations"] < 1:
            raise NetworkConfigError(f"{path}: networks.{name}.confirmations must be >= 1")
        networks[name] = Network(name=name, **table)
    return networks


def get_network(name: str, path: Path = NETWORKS_FILE) -> Network:
    """Return the named network or fail listing the known ones."""
    networks = load_networks(path)
    try:
        return networks[name]
    except KeyError:
        raise NetworkConfigError(
            f"unknown network {name!r}; known: {', '.join(sorted(networks))} ({path})"
        ) from None


def load_account(key_env: str, *, dev_key: bool = False) -> LocalAccount:
    """Return the deployer account from the private key in `key_env` (never printed)."""
    raw = os.environ.get(key_env, "").strip()
    if not raw:
        if dev_key:
            dev: LocalAccount = Account.from_key(DEV_PRIVATE_KEYS[0])
            return dev
        raise MissingKeyError(f"no deployer key: set {key_env} to a hex private key")
    try:
        account: LocalAccount = Account.from_key(raw)
    except (ValueError, TypeError) as error:
        raise MissingKeyError(f"{key_env} does not hold a valid private key") from error
    return account
