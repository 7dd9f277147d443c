"""Buying credit on a real chain (session anvil): confirmed escrow deposits become credit once,
and the web3 balance reader sees the same token and escrow balances."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_abi.abi import encode
from eth_utils.crypto import keccak

from settlement.api.balances import BalanceService
from settlement.api.web3_reader import Web3BalanceReader
from settlement.chain.anvil import DEV_PRIVATE_KEYS, Anvil
from settlement.chain.client import JsonRpcChainClient
from settlement.ledger.repository import Ledger, open_ledger
from settlement.payouts.devnet import DevContracts, deploy_dev_contracts, send_and_wait
from settlement.tokens.deposits import DepositKind, DepositWatcher
from settlement.tokens.store import SqlScanCursors
from settlement.tokens.wiring import LedgerCredits

pytestmark = pytest.mark.chain

ADMIN_KEY, FUNDER_KEY = DEV_PRIVATE_KEYS[0], DEV_PRIVATE_KEYS[1]
MINT_WEI = 10**24
K = 2


@pytest.fixture
def contracts(client: JsonRpcChainClient) -> DevContracts:
    # The "settler" of the dev deployment holds minted tokens and approved the settlement
    # contract: here it plays a requestor funding escrows.
    return deploy_dev_contracts(client, ADMIN_KEY, FUNDER_KEY, mint_wei=MINT_WEI)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    book = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield book
    book.close()


def _call(
    client: JsonRpcChainClient, to: str, signature: str, types: list[str], args: list[object]
) -> None:
    data = keccak(text=signature)[:4] + encode(types, args)
    send_and_wait(client, FUNDER_KEY, to=to, data=data, gas=300_000)


def test_confirmed_deposits_become_credit_once(
    client: JsonRpcChainClient, contracts: DevContracts, ledger: Ledger
) -> None:
    start = client.block_number()
    watcher = DepositWatcher(
        client, LedgerCredits(ledger), chain_id=client.chain_id(),
        escrow_address=contracts.settlement, confirmations=K, from_block=start,
    )  # fmt: skip
    expiry = int(time.time()) + 3600
    _call(
        client,
        contracts.settlement,
        "deposit(uint256,uint64)",
        ["uint256", "uint64"],
        [700, expiry],
    )
    assert watcher.poll() == []  # not yet K confirmations deep
    client.request("anvil_mine", hex(K))
    applied = watcher.poll()
    assert [(m.kind, m.amount_wei, m.funder) for m in applied] == [
        (DepositKind.DEPOSITED, 700, contracts.settler)
    ]
    _call(client, contracts.settlement, "topUp(uint256,uint256)", ["uint256", "uint256"], [1, 50])
    client.request("anvil_mine", hex(K))
    assert [m.kind for m in watcher.poll()] == [DepositKind.TOPPED_UP]
    assert ledger.credit_balance(contracts.settler) == 750

    # A restarted watcher rescans from the start: nothing is credited twice.
    again = DepositWatcher(
        client, LedgerCredits(ledger), chain_id=client.chain_id(),
        escrow_address=contracts.settlement, confirmations=K, from_block=start,
    )  # fmt: skip
    assert again.poll() == []
    assert ledger.credit_balance(contracts.settler) == 750

    # Spend some credit, then take the escrow back after expiry: only what is left is debited.
    ledger.debit(contracts.settler, 500, idempotency_key="spend:1", reason="usage")
    client.request("evm_increaseTime", 7200)
    _call(client, contracts.settlement, "withdraw(uint256)", ["uint256"], [1])
    client.request("anvil_mine", hex(K))
    withdrawn = watcher.poll()
    assert [(m.kind, m.amount_wei) for m in withdrawn] == [(DepositKind.WITHDRAWN, 750)]
    assert ledger.credit_balance(contracts.settler) == 0
    assert again.poll() == []  # the same withdrawal seen by another watcher: no second debit


def test_web3_reader_sees_token_and_escrow_balances(
    anvil: Anvil, client: JsonRpcChainClient, contracts: DevContracts, ledger: Ledger
) -> None:
    expiry = int(time.time()) + 3600
    for amount in (300, 200):
        _call(
            client,
            contracts.settlement,
            "deposit(uint256,uint64)",
            ["uint256", "uint64"],
            [amount, expiry],
        )
    reader = Web3BalanceReader(anvil.rpc_url, contracts.token, contracts.settlement, timeout_s=5)
    reading = reader.read(contracts.settler)
    assert reading.token_wei == MINT_WEI - 500
    assert reading.escrow_wei == 500
    assert reading.block_number == client.block_number()
    assert reader.read("0x" + "00" * 19 + "01").token_wei == 0

    service = BalanceService(ledger, reader, chain_ttl_s=5, ledger_ttl_s=0)
    view = asyncio.run(service.balances(contracts.settler))
    assert view.to_json()["escrow_balance_wei"] == "500"


def test_web3_reader_failure_is_retryable() -> None:
    from settlement.chain.anvil import free_port
    from settlement.errors import RetryableSettlementError

    dead = Web3BalanceReader(f"http://127.0.0.1:{free_port()}", "0x" + "11" * 20, timeout_s=0.5)
    with pytest.raises(RetryableSettlementError):
        dead.read("0x" + "22" * 20)


def test_cli_balance_reads_the_chain(
    anvil: Anvil,
    client: JsonRpcChainClient,
    contracts: DevContracts,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from governance.cli import main

    expiry = int(time.time()) + 3600
    _call(
        client, contracts.settlement, "deposit(uint256,uint64)", ["uint256", "uint64"], [42, expiry]
    )
    code = main(
        [
            "tokens", "balance", contracts.settler, "--db", f"sqlite:///{tmp_path / 'l.db'}",
            "--rpc-url", anvil.rpc_url, "--token-address", contracts.token,
            "--escrow-address", contracts.settlement,
        ]
    )  # fmt: skip
    assert code == 0
    body = json.loads(capsys.readouterr().out)
    assert body["escrow_balance_wei"] == "42"
    assert body["token_balance_wei"] == str(MINT_WEI - 42)
    assert body["credit_wei"] == "0"


def test_cli_watch_deposits_once(
    anvil: Anvil,
    client: JsonRpcChainClient,
    contracts: DevContracts,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from governance.cli import main

    start = client.block_number()
    expiry = int(time.time()) + 3600
    _call(
        client, contracts.settlement, "deposit(uint256,uint64)", ["uint256", "uint64"], [9, expiry]
    )
    db = f"sqlite:///{tmp_path / 'l.db'}"
    argv = [
        "tokens", "watch-deposits", "--db", db, "--rpc-url", anvil.rpc_url,
        "--escrow-address", contracts.settlement, "--confirmations", "0",
        "--from-block", str(start), "--once",
    ]  # fmt: skip
    assert main(argv) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(x["kind"], x["amount_wei"], x["funder"]) for x in lines] == [
        ("deposited", "9", contracts.settler)
    ]
    assert main(argv) == 0  # a second run resumes after the scanned blocks: nothing new
    assert capsys.readouterr().out == ""
    assert main([*argv, "--rescan"]) == 0  # scans the same blocks again: credits nothing twice
    assert capsys.readouterr().out == ""
    ledger = open_ledger(db)
    assert ledger.credit_balance(contracts.settler) == 9
    cursors = SqlScanCursors(ledger.engine)
    name = f"deposits:{client.chain_id()}:{contracts.settlement.lower()}"
    assert cursors.get(name) == client.block_number() + 1  # --confirmations 0: up to the head
    ledger.close()
    assert main([*argv[:-3], "--from-block", "-1", "--once"]) == 2  # a clean refusal
