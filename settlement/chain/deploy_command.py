"""`hyperbrick contracts deploy`: resolve the target, check it, deploy or verify, record atomically.

Every check that can fail (key, RPC, chain id, existing record, funds) runs before the first
transaction, and the record is written only after the last confirmation: no partial record.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from eth_account.signers.local import LocalAccount
from web3 import Web3

from settlement.chain.deploy import (
    Deployment,
    DeployPlan,
    deploy_contracts,
    plan_deployment,
    read_record,
    record_path,
    verify_deployment,
    write_record,
)
from settlement.chain.errors import RpcUnreachableError, WrongChainError
from settlement.chain.networks import NETWORKS_FILE, get_network, load_account
from settlement.chain.toolchain import REPO_ROOT

DEPLOYMENTS_DIR = REPO_ROOT / "deployments"
RPC_TIMEOUT_S = 10.0
DEFAULT_KEY_ENV = "HYPERBRICK_DEPLOYER_KEY"


class DeployStatus(StrEnum):
    """What a deploy command did."""

    DEPLOYED = "deployed"
    VERIFIED = "verified"  # an existing record's code matched; nothing sent
    PLANNED = "planned"  # --dry-run: checks passed, nothing sent


@dataclass(frozen=True, slots=True)
class DeployRequest:
    """The resolved inputs of one deploy command."""

    rpc_url: str
    key_env: str
    expected_chain_id: int | None = None
    confirmations: int = 1
    dev_key: bool = False
    network: str | None = None
    dry_run: bool = False
    force: bool = False
    settler: str | None = None
    admin: str | None = None
    deployments_dir: Path = DEPLOYMENTS_DIR


@dataclass(frozen=True, slots=True)
class DeployOutcome:
    """The result: what happened, the record (if any) and where it lives."""

    status: DeployStatus
    chain_id: int
    record_file: Path
    deployment: Deployment | None = None
    plan: DeployPlan | None = None


def request_for_network(
    name: str, networks_file: Path = NETWORKS_FILE, **options: object
) -> DeployRequest:
    """Build a request from a named network in the networks file."""
    network = get_network(name, networks_file)
    return DeployRequest(
        rpc_url=network.rpc_url(),
        key_env=str(options.pop("key_env", None) or network.key_env),
        expected_chain_id=network.chain_id,
        confirmations=network.confirmations,
        dev_key=network.dev_key,
        network=name,
        **options,  # type: ignore[arg-type]
    )


def connect(rpc_url: str, timeout_s: float = RPC_TIMEOUT_S) -> tuple[Web3, int]:
    """Return a web3 client and the endpoint's chain id, or fail fast if it does not answer."""
    provider = Web3.HTTPProvider(
        rpc_url, request_kwargs={"timeout": timeout_s}, exception_retry_configuration=None
    )
    w3 = Web3(provider)
    try:
        return w3, int(w3.eth.chain_id)
    except OSError as error:  # requests' ConnectionError and Timeout are OSErrors
        raise RpcUnreachableError(f"RPC endpoint {rpc_url} is unreachable: {error}") from error


def run_deploy(request: DeployRequest) -> DeployOutcome:
    """Check the target, then verify an existing record, plan (dry run) or deploy and record."""
    account: LocalAccount = load_account(request.key_env, dev_key=request.dev_key)
    w3, chain_id = connect(request.rpc_url)
    if request.expected_chain_id is not None and chain_id != request.expected_chain_id:
        where = f"network {request.network!r}" if request.network else "--chain-id"
        raise WrongChainError(
            f"{request.rpc_url} serves chain {chain_id}, but {where} expects chain "
            f"{request.expected_chain_id}"
        )
    path = record_path(request.deployments_dir, chain_id)
    existing = None if request.force else read_record(request.deployments_dir, chain_id)
    if existing is not None:
        verify_deployment(w3, existing)
        return DeployOutcome(DeployStatus.VERIFIED, chain_id, path, deployment=existing)
    roles = {
        "admin": Web3.to_checksum_address(request.admin or account.address),
        "minter": Web3.to_checksum_address(request.admin or account.address),
        "settler": Web3.to_checksum_address(request.settler or account.address),
    }
    plan = plan_deployment(w3, account.address, **roles)
    if request.dry_run:
        return DeployOutcome(DeployStatus.PLANNED, chain_id, path, plan=plan)
    deployment = deploy_contracts(
        w3,
        account,
        admin=roles["admin"],
        minter=roles["minter"],
        settler=roles["settler"],
        confirmations=request.confirmations,
    )
    if request.network is not None:
        deployment = replace(deployment, network=request.network)
    write_record(request.deployments_dir, deployment)
    return DeployOutcome(DeployStatus.DEPLOYED, chain_id, path, deployment=deployment, plan=plan)
