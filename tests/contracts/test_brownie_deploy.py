"""The brownie lane: brownie (own venv) deploys to a fresh anvil; web3.py here checks the result."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

from settlement.chain.anvil import DEV_PRIVATE_KEYS, Anvil
from settlement.chain.artifacts import SETTLEMENT, TOKEN, load_artifact
from settlement.chain.deploy import contract_at
from settlement.chain.packing import pack_payouts
from settlement.chain.toolchain import CONTRACTS_DIR, solc_shim_path

pytestmark = pytest.mark.brownie
BROWNIE_PROJECT = CONTRACTS_DIR / "brownie"


def _brownie(bin_dir: Path, env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [str(bin_dir / "brownie"), *args],
        cwd=BROWNIE_PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result.stdout


def _brownie_env(home: Path) -> dict[str, str]:
    """A throw-away HOME: brownie keeps its network list and py-solc-x its compilers there."""
    solcx = home / ".solcx"
    solcx.mkdir(parents=True)
    # py-solc-x looks for `solc-v<version>`; a symlink keeps the shim next to its node_modules.
    (solcx / "solc-v0.8.37").symlink_to(solc_shim_path())
    return {**os.environ, "HOME": str(home), "NO_COLOR": "1"}


def test_brownie_deploys_what_web3_verifies(brownie_bin: Path, tmp_path: Path) -> None:
    env = _brownie_env(tmp_path / "home")
    settler = Account.from_key(DEV_PRIVATE_KEYS[1]).address
    record_file = tmp_path / "brownie-record.json"
    with Anvil() as node:
        _brownie(
            brownie_bin, env, "networks", "add", "Development", "hb-anvil",
            "host=http://127.0.0.1", f"port={node.port}", "cmd=anvil",
        )  # fmt: skip
        deploy_env = {
            **env,
            "HYPERBRICK_DEPLOYER_KEY": DEV_PRIVATE_KEYS[0],
            "HYPERBRICK_SETTLER": settler,
            "HYPERBRICK_BROWNIE_RECORD": str(record_file),
        }
        _brownie(brownie_bin, deploy_env, "run", "scripts/deploy.py", "--network", "hb-anvil")
        record = json.loads(record_file.read_text())
        _verify_from_web3(Web3(Web3.HTTPProvider(node.rpc_url)), record, settler)


def _verify_from_web3(w3: Web3, record: dict[str, str], settler: str) -> None:
    assert record["chain_id"] == 31337
    for name, key in ((TOKEN, "token"), (SETTLEMENT, "settlement")):
        code = bytes(w3.eth.get_code(Web3.to_checksum_address(record[key])))
        # brownie names the sources differently, so only the metadata tail may differ.
        assert load_artifact(name).runtime_matches(code, ignore_metadata=True), name
        receipt = w3.eth.get_transaction_receipt(record[f"{key}_tx"])
        assert receipt["contractAddress"] == record[key]
    token = contract_at(w3, TOKEN, record["token"])
    settlement = contract_at(w3, SETTLEMENT, record["settlement"])
    assert settlement.functions.token().call() == record["token"]
    assert settlement.functions.hasRole(settlement.functions.SETTLER_ROLE().call(), settler).call()
    # And it works: fund an escrow and let the settler pay a packed batch.
    me = record["deployer"]
    for call in (
        token.functions.mint(me, 10**21),
        token.functions.approve(settlement.address, 10**21),
        settlement.functions.deposit(10**21, w3.eth.get_block("latest")["timestamp"] + 600),
    ):
        assert w3.eth.wait_for_transaction_receipt(call.transact({"from": me}))["status"] == 1
    payee = Account.create().address
    pay = settlement.functions.payout(1, 1, 5 * 10**18, pack_payouts([(payee, 5 * 10**18)]))
    assert w3.eth.wait_for_transaction_receipt(pay.transact({"from": settler}))["status"] == 1
    assert token.functions.balanceOf(payee).call() == 5 * 10**18
