"""Payout fixtures: contracts deployed on the session anvil, a ledger, a worker wired to both."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from settlement.chain.anvil import DEV_PRIVATE_KEYS
from settlement.chain.client import JsonRpcChainClient
from settlement.chain.evm import EvmPayoutChain
from settlement.ledger import Ledger, open_ledger
from settlement.payouts.devnet import DevContracts, deploy_dev_contracts
from settlement.payouts.worker import SettlementWorker

ADMIN_KEY, SETTLER_KEY = DEV_PRIVATE_KEYS[0], DEV_PRIVATE_KEYS[1]
MINT_WEI = 10**26
K = 3


@pytest.fixture
def contracts(client: JsonRpcChainClient) -> DevContracts:
    return deploy_dev_contracts(client, ADMIN_KEY, SETTLER_KEY, mint_wei=MINT_WEI)


@pytest.fixture
def book(tmp_path: Path) -> Iterator[Ledger]:
    ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield ledger
    ledger.close()


@pytest.fixture
def chain(client: JsonRpcChainClient, contracts: DevContracts) -> EvmPayoutChain:
    return EvmPayoutChain(
        client,
        chain_id=client.chain_id(),
        settlement_address=contracts.settlement,
        private_key=SETTLER_KEY,
        confirmations=K,
    )


@pytest.fixture
def worker(book: Ledger, chain: EvmPayoutChain) -> SettlementWorker:
    return SettlementWorker(ledger=book, chain=chain, max_words=50, resend_after_ms=200)


TickUntil = Callable[[SettlementWorker, Callable[[], bool]], None]


@pytest.fixture
def tick_until() -> TickUntil:
    """Tick until `done()` holds: anvil's automine may expose a receipt a moment after the send."""

    def run(worker: SettlementWorker, done: Callable[[], bool]) -> None:
        for _ in range(50):
            worker.tick()
            if done():
                return
            time.sleep(0.02)
        raise AssertionError("the worker did not reach the expected state")

    return run
