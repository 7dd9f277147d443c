"""Deploy the token and the settlement contract, record them, and verify an existing record.

A record (`deployments/<chain-id>.json`) is written once, atomically, after every transaction has
its confirmations, so a failed or interrupted deployment never leaves a partial record.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from settlement.chain.artifacts import SETTLEMENT, TOKEN, Artifact, load_artifact
from settlement.chain.errors import DeploymentMismatchError, InsufficientFundsError
from settlement.chain.transactions import fee_params, send_signed, wait_confirmed, with_headroom

RECORD_VERSION = 1


@dataclass(frozen=True, slots=True)
class ContractRecord:
    """One deployed contract: where it is, which transaction made it, which artifact it is."""

    address: str
    tx_hash: str
    block: int
    artifact_sha256: str


@dataclass(frozen=True, slots=True)
class Deployment:
    """A completed deployment of the token and the settlement contract on one chain."""

    chain_id: int
    deployer: str
    admin: str
    minter: str
    settler: str
    compiler_version: str
    confirmations: int
    block: int
    contracts: dict[str, ContractRecord] = field(default_factory=dict)
    network: str | None = None

    @property
    def token_address(self) -> str:
        """Address of the HyperbrickToken."""
        return self.contracts[TOKEN].address

    @property
    def settlement_address(self) -> str:
        """Address of the HyperbrickSettlement."""
        return self.contracts[SETTLEMENT].address

    def to_json(self) -> dict[str, Any]:
        """Return the record document."""
        return {"version": RECORD_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Deployment:
        """Parse a record document."""
        fields = {k: v for k, v in document.items() if k != "version"}
        contracts = {k: ContractRecord(**v) for k, v in fields.pop("contracts").items()}
        return cls(contracts=contracts, **fields)


@dataclass(frozen=True, slots=True)
class DeployPlan:
    """What a deployment would send and cost (the dry-run answer)."""

    chain_id: int
    deployer: str
    gas: dict[str, int]
    max_fee_per_gas_wei: int
    max_cost_wei: int
    balance_wei: int


def contract_at(w3: Web3, name: str, address: str) -> Contract:
    """Return a web3 contract object for the committed artifact `name` at `address`."""
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_artifact(name).abi)


def plan_deployment(
    w3: Web3, deployer: str, *, admin: str, minter: str, settler: str
) -> DeployPlan:
    """Estimate gas and the worst-case cost; fail before sending anything if funds are short."""
    token, settlement = load_artifact(TOKEN), load_artifact(SETTLEMENT)
    # The settlement constructor only stores the token address, so any address estimates it.
    gas = {
        TOKEN: _estimate(w3, deployer, token, admin, minter),
        SETTLEMENT: _estimate(w3, deployer, settlement, deployer, admin, settler),
    }
    fees = fee_params(w3)
    max_cost = sum(with_headroom(g) for g in gas.values()) * fees["maxFeePerGas"]
    balance = int(w3.eth.get_balance(Web3.to_checksum_address(deployer)))
    plan = DeployPlan(
        w3.eth.chain_id, deployer, gas, fees["maxFeePerGas"], max_cost, balance_wei=balance
    )
    if balance < max_cost:
        raise InsufficientFundsError(
            f"deployer {deployer} holds {balance} wei on chain {plan.chain_id}; "
            f"the deployment may cost up to {max_cost} wei"
        )
    return plan


def deploy_contracts(
    w3: Web3,
    account: LocalAccount,
    *,
    admin: str | None = None,
    minter: str | None = None,
    settler: str | None = None,
    confirmations: int = 1,
    timeout_s: float = 120.0,
) -> Deployment:
    """Deploy HyperbrickToken and HyperbrickSettlement from `account`; roles default to it.

    Returns the Deployment once both transactions have `confirmations` blocks. Writes nothing.
    """
    admin, minter, settler = (
        Web3.to_checksum_address(a or account.address) for a in (admin, minter, settler)
    )
    plan = plan_deployment(w3, account.address, admin=admin, minter=minter, settler=settler)
    nonce = w3.eth.get_transaction_count(account.address, "pending")
    fees = fee_params(w3)
    records: dict[str, ContractRecord] = {}
    token_artifact = load_artifact(TOKEN)
    records[TOKEN] = _deploy_one(
        w3,
        account,
        token_artifact,
        (admin, minter),
        nonce,
        plan.gas[TOKEN],
        fees,
        confirmations,
        timeout_s,
    )
    settlement_artifact = load_artifact(SETTLEMENT)
    records[SETTLEMENT] = _deploy_one(
        w3, account, settlement_artifact, (records[TOKEN].address, admin, settler), nonce + 1,
        plan.gas[SETTLEMENT], fees, confirmations, timeout_s,
    )  # fmt: skip
    return Deployment(
        chain_id=plan.chain_id,
        deployer=account.address,
        admin=admin,
        minter=minter,
        settler=settler,
        compiler_version=token_artifact.compiler_version,
        confirmations=confirmations,
        block=max(r.block for r in records.values()),
        contracts=records,
    )


def verify_deployment(w3: Web3, deployment: Deployment) -> None:
    """Check that every recorded address holds the committed artifact's runtime code."""
    chain_id = w3.eth.chain_id
    if chain_id != deployment.chain_id:
        raise DeploymentMismatchError(
            f"record is for chain {deployment.chain_id} but the endpoint serves chain {chain_id}"
        )
    for name, record in deployment.contracts.items():
        code = bytes(w3.eth.get_code(Web3.to_checksum_address(record.address)))
        if not code:
            raise DeploymentMismatchError(
                f"{name} at {record.address} on chain {chain_id} has no code (chain reset?); "
                "redeploy with --force"
            )
        if not load_artifact(name).runtime_matches(code):
            raise DeploymentMismatchError(
                f"{name} at {record.address} on chain {chain_id} does not match the committed "
                "artifact; redeploy with --force"
            )


def record_path(directory: Path, chain_id: int) -> Path:
    """Return where the record of chain `chain_id` lives."""
    return directory / f"{chain_id}.json"


def read_record(directory: Path, chain_id: int) -> Deployment | None:
    """Return the recorded deployment on `chain_id`, or None when there is none."""
    path = record_path(directory, chain_id)
    if not path.is_file():
        return None
    return Deployment.from_json(json.loads(path.read_text(encoding="utf-8")))


def write_record(directory: Path, deployment: Deployment) -> Path:
    """Write the record atomically (temporary file, fsync, rename)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = record_path(directory, deployment.chain_id)
    tmp = path.with_suffix(".json.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        json.dump(deployment.to_json(), handle, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
    return path


def _estimate(w3: Web3, sender: str, artifact: Artifact, *args: object) -> int:
    data = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode).constructor(*args)
    return int(w3.eth.estimate_gas({"from": sender, "data": data.data_in_transaction}))


def _deploy_one(
    w3: Web3,
    account: LocalAccount,
    artifact: Artifact,
    args: tuple[object, ...],
    nonce: int,
    gas: int,
    fees: dict[str, int],
    confirmations: int,
    timeout_s: float,
) -> ContractRecord:
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    data = factory.constructor(*args).data_in_transaction
    tx = {"nonce": nonce, "gas": with_headroom(gas), "data": data, **fees}
    tx_hash = send_signed(w3, account, tx)
    receipt = wait_confirmed(w3, tx_hash, confirmations=confirmations, timeout_s=timeout_s)
    return ContractRecord(
        address=str(receipt["contractAddress"]),
        tx_hash=tx_hash.to_0x_hex(),
        block=int(receipt["blockNumber"]),
        artifact_sha256=artifact.sha256,
    )
