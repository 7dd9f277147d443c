"""`hyperbrick contracts deploy` on local anvil: record, re-verify, force, and clean failures."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

from governance.cli import main
from settlement.chain.anvil import DEV_PRIVATE_KEYS, Anvil, free_port
from settlement.chain.artifacts import SETTLEMENT, TOKEN, load_artifact
from settlement.chain.errors import ConfirmationTimeoutError
from settlement.chain.transactions import wait_confirmed
from settlement.errors import RetryableSettlementError

pytestmark = pytest.mark.chain
KEY_ENV = "HB_TEST_DEPLOYER_KEY"


@pytest.fixture
def deployer_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, DEV_PRIVATE_KEYS[2])
    return Account.from_key(DEV_PRIVATE_KEYS[2]).address


def _deploy(anvil_url: str, out: Path, *extra: str) -> int:
    argv = ["contracts", "deploy", "--rpc-url", anvil_url, "--key-env", KEY_ENV]
    return main([*argv, "--deployments-dir", str(out), *extra])


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err, err
    assert "Traceback" not in err, err
    assert err.startswith("hyperbrick: error: "), err
    return err


def test_deploy_writes_a_complete_record(
    anvil: Anvil, tmp_path: Path, deployer_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _deploy(anvil.rpc_url, tmp_path, "--chain-id", "31337", "--json") == 0
    outcome = json.loads(capsys.readouterr().out)
    assert outcome["status"] == "deployed"
    record = json.loads((tmp_path / "31337.json").read_text())
    assert record["chain_id"] == 31337
    assert record["deployer"] == deployer_env
    assert record["compiler_version"] == load_artifact(TOKEN).compiler_version
    w3 = Web3(Web3.HTTPProvider(anvil.rpc_url))
    for name in (TOKEN, SETTLEMENT):
        entry = record["contracts"][name]
        assert entry["artifact_sha256"] == load_artifact(name).sha256
        receipt = w3.eth.get_transaction_receipt(entry["tx_hash"])
        assert receipt["contractAddress"] == entry["address"]
        assert receipt["blockNumber"] == entry["block"]
    assert record["contracts"][TOKEN]["address"] == outcome["token"]
    assert record["block"] == record["contracts"][SETTLEMENT]["block"]
    assert not list(tmp_path.glob("*.tmp"))


def test_rerun_verifies_without_redeploying_and_force_redeploys(
    anvil: Anvil, tmp_path: Path, deployer_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    w3 = Web3(Web3.HTTPProvider(anvil.rpc_url))
    assert _deploy(anvil.rpc_url, tmp_path) == 0
    first = (tmp_path / "31337.json").read_text()
    block = w3.eth.block_number
    assert _deploy(anvil.rpc_url, tmp_path, "--json") == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["status"] == "verified"
    assert w3.eth.block_number == block, "a verified record must not send transactions"
    assert (tmp_path / "31337.json").read_text() == first
    assert _deploy(anvil.rpc_url, tmp_path, "--force") == 0
    assert w3.eth.block_number == block + 2
    second = json.loads((tmp_path / "31337.json").read_text())
    assert second["contracts"][TOKEN]["address"] != json.loads(first)["contracts"][TOKEN]["address"]


def test_record_whose_code_is_gone_is_refused(
    anvil: Anvil, tmp_path: Path, deployer_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _deploy(anvil.rpc_url, tmp_path) == 0
    token = json.loads((tmp_path / "31337.json").read_text())["contracts"][TOKEN]["address"]
    anvil.rpc("anvil_setCode", token, "0x")
    capsys.readouterr()
    assert _deploy(anvil.rpc_url, tmp_path) == 2
    assert "has no code" in _error_line(capsys)


def test_dry_run_sends_nothing_and_writes_nothing(
    anvil: Anvil, tmp_path: Path, deployer_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    block = Web3(Web3.HTTPProvider(anvil.rpc_url)).eth.block_number
    assert _deploy(anvil.rpc_url, tmp_path, "--dry-run", "--json") == 0
    outcome = json.loads(capsys.readouterr().out)
    assert outcome["status"] == "planned"
    assert outcome["gas"][TOKEN] > 1_000_000
    assert Web3(Web3.HTTPProvider(anvil.rpc_url)).eth.block_number == block
    assert list(tmp_path.iterdir()) == []


def test_wrong_chain_id_is_one_clear_error(
    anvil: Anvil, tmp_path: Path, deployer_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _deploy(anvil.rpc_url, tmp_path, "--chain-id", "11155111") == 2
    assert "serves chain 31337" in _error_line(capsys)
    networks = tmp_path / "networks.toml"
    networks.write_text(
        '[networks.sepolia]\nchain_id = 11155111\nrpc_url_env = "HB_TEST_RPC"\n'
        f'key_env = "{KEY_ENV}"\nconfirmations = 1\n'
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HB_TEST_RPC", anvil.rpc_url)
        argv = ["contracts", "deploy", "--network", "sepolia", "--networks-file", str(networks)]
        assert main([*argv, "--deployments-dir", str(tmp_path / "out")]) == 2
    assert "network 'sepolia' expects chain 11155111" in _error_line(capsys)
    assert not (tmp_path / "out").exists()


def test_insufficient_funds_is_one_clear_error(
    anvil: Anvil,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pauper = Account.create()
    monkeypatch.setenv(KEY_ENV, pauper.key.hex())
    block = Web3(Web3.HTTPProvider(anvil.rpc_url)).eth.block_number
    assert _deploy(anvil.rpc_url, tmp_path) == 2
    assert f"deployer {pauper.address} holds 0 wei" in _error_line(capsys)
    assert Web3(Web3.HTTPProvider(anvil.rpc_url)).eth.block_number == block
    assert list(tmp_path.iterdir()) == []


def test_unreachable_rpc_is_one_clear_error(
    tmp_path: Path, deployer_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _deploy(f"http://127.0.0.1:{free_port()}", tmp_path) == 2
    assert "is unreachable" in _error_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_missing_or_bad_key_is_one_clear_error(
    anvil: Anvil,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    assert _deploy(anvil.rpc_url, tmp_path) == 2
    assert f"set {KEY_ENV}" in _error_line(capsys)
    monkeypatch.setenv(KEY_ENV, "0xnot-a-key")
    assert _deploy(anvil.rpc_url, tmp_path) == 2
    line = _error_line(capsys)
    assert "does not hold a valid private key" in line
    assert "0xnot-a-key" not in line
    assert list(tmp_path.iterdir()) == []


def test_unknown_network_names_the_known_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["contracts", "deploy", "--network", "mainnet"]) == 2
    assert "known: local, sepolia, zksync-sepolia" in _error_line(capsys)


def test_waits_for_the_requested_confirmations(anvil: Anvil) -> None:
    w3 = Web3(Web3.HTTPProvider(anvil.rpc_url))
    me = Account.from_key(DEV_PRIVATE_KEYS[0]).address
    tx_hash = w3.eth.send_transaction({"from": me, "to": me, "value": 1})
    mined = w3.eth.block_number
    timer = threading.Timer(0.5, lambda: anvil.rpc("anvil_mine", "0x2"))
    timer.start()
    receipt = wait_confirmed(w3, tx_hash, confirmations=3, timeout_s=10)
    timer.join()
    assert receipt["blockNumber"] == mined
    assert w3.eth.block_number >= mined + 2


def test_named_network_zksync_sepolia_against_anvil_chain_300(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # No zkSync node installs offline; anvil --chain-id 300 stands in for plain EVM transactions.
    with Anvil(chain_id=300) as node:
        monkeypatch.setenv("ZKSYNC_SEPOLIA_RPC_URL", node.rpc_url)
        monkeypatch.setenv("HYPERBRICK_DEPLOYER_KEY", DEV_PRIVATE_KEYS[0])
        argv = ["contracts", "deploy", "--network", "zksync-sepolia", "--json"]
        assert main([*argv, "--deployments-dir", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["chain_id"] == 300
    record = json.loads((tmp_path / "300.json").read_text())
    assert record["network"] == "zksync-sepolia"
    assert record["confirmations"] == 1


def test_compile_check_reports_fresh_artifacts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contracts", "compile", "--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_confirmation_timeout_is_a_retryable_error(anvil: Anvil) -> None:
    w3 = Web3(Web3.HTTPProvider(anvil.rpc_url))
    me = Account.from_key(DEV_PRIVATE_KEYS[0]).address
    tx_hash = w3.eth.send_transaction({"from": me, "to": me, "value": 1})
    with pytest.raises(ConfirmationTimeoutError, match="fewer than 5 confirmations") as caught:
        wait_confirmed(w3, tx_hash, confirmations=5, timeout_s=0.3)
    assert isinstance(caught.value, RetryableSettlementError)
