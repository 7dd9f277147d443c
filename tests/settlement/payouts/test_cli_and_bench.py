"""`hyperbrick settle run|reconcile|trace` and `hyperbrick bench settle --json`, end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from settlement.chain.anvil import Anvil
from settlement.chain.client import JsonRpcChainClient
from settlement.ledger import Ledger
from settlement.payouts.devnet import DevContracts, token_balance

pytestmark = pytest.mark.chain
SETTLER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
PAYEE = "0x" + "d4" * 20


def _hyperbrick(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "governance.cli", *args],
        capture_output=True, text=True, env={**os.environ, **env}, timeout=120, check=False,
    )  # fmt: skip


def test_settle_run_pays_then_reconcile_and_trace_agree(
    book: Ledger, anvil: Anvil, client: JsonRpcChainClient, contracts: DevContracts
) -> None:
    book.record_usage("cli-1", payee=PAYEE, amount_wei=42 * 10**15)
    env = {
        "HYPERBRICK_SETTLE_DATABASE_URL": str(book.engine.url),
        "HYPERBRICK_SETTLE_RPC_URL": anvil.rpc_url,
        "HYPERBRICK_SETTLE_CHAIN_ID": str(anvil.chain_id),
        "HYPERBRICK_SETTLE_SETTLEMENT_ADDRESS": contracts.settlement,
        "HYPERBRICK_SETTLE_CONFIRMATIONS": "1",
        "HYPERBRICK_SETTLER_KEY": SETTLER_KEY,
    }
    ran = _hyperbrick("settle", "run", "--until-idle", "--timeout-s", "60", env=env)
    assert ran.returncode == 0, ran.stderr
    assert token_balance(client, contracts.token, PAYEE) == 42 * 10**15
    audit = _hyperbrick("settle", "reconcile", "--token", contracts.token, env=env)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert json.loads(audit.stdout)["ok"] is True
    # Events before --from-block are not read: the batch's payment event is then missing.
    client.request("evm_mine")  # a block after the payment, so that reading from it misses it
    head = client.block_number()
    late = _hyperbrick("settle", "reconcile", "--from-block", str(head), env=env)
    assert late.returncode == 1, late.stdout + late.stderr
    assert json.loads(late.stdout)["from_block"] == head
    assert list(json.loads(late.stdout)["batch_total_mismatches"].values()) == [
        [str(42 * 10**15), "0"]
    ]
    for bad, message in (("-3", "block number"), (str(head + 1), "beyond the chain head")):
        refused = _hyperbrick("settle", "reconcile", "--from-block", bad, env=env)
        assert refused.returncode == 2
        assert message in refused.stderr
        assert "Traceback" not in refused.stderr
    traced = _hyperbrick("settle", "trace", "cli-1", env=env)
    document = json.loads(traced.stdout)
    assert document["payout_state"] == "final"
    assert document["amount_wei"] == str(42 * 10**15)  # wei as a decimal string
    assert document["tx_hash"].startswith("0x")


def test_a_missing_key_is_one_clean_line(tmp_path: Path, anvil: Anvil) -> None:
    env = {
        "HYPERBRICK_SETTLE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "HYPERBRICK_SETTLE_RPC_URL": anvil.rpc_url,
        "HYPERBRICK_SETTLE_SETTLEMENT_ADDRESS": "0x" + "11" * 20,
        "HYPERBRICK_SETTLE_KEY_ENV": "HB_TEST_NO_SUCH_KEY",
    }
    ran = _hyperbrick("settle", "run", "--until-idle", env=env)
    assert ran.returncode == 2
    assert ran.stderr.strip().count("\n") == 0
    assert "HB_TEST_NO_SUCH_KEY" in ran.stderr


def test_bench_settle_json_rows() -> None:
    ran = _hyperbrick(
        "bench", "settle", "--json", "--payouts", "300", "--batch-words", "100", env={}
    )
    assert ran.returncode == 0, ran.stderr
    rows = json.loads(ran.stdout)["results"]
    assert rows[0]["payouts"] == 300
    assert rows[0]["batches"] == 3
    assert rows[0]["payouts_per_s"] > 0
