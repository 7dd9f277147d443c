"""Two workers on one ledger at once (a misconfiguration) still pay every payee exactly once."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from settlement.chain.anvil import Anvil
from settlement.chain.client import JsonRpcChainClient
from settlement.chain.evm import EvmPayoutChain
from settlement.errors import RetryableSettlementError
from settlement.ledger import open_ledger
from settlement.ledger.testing import pg_schema_url
from settlement.payouts.devnet import DevContracts, token_balance
from settlement.payouts.reconcile import reconcile
from settlement.payouts.worker import SettlementWorker

pytestmark = pytest.mark.chain
SETTLER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
PAYEES = [f"0x{i:040x}" for i in range(0x4000, 0x4000 + 15)]


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'two.db'}"
        return
    with pg_schema_url() as url:
        yield url


def test_two_concurrent_workers_pay_exactly_once(
    db_url: str, anvil: Anvil, client: JsonRpcChainClient, contracts: DevContracts
) -> None:
    book = open_ledger(db_url)
    expected: Counter[str] = Counter()
    stop = threading.Event()
    failures: list[BaseException] = []

    def work() -> None:
        rpc = JsonRpcChainClient(anvil.rpc_url)
        chain = EvmPayoutChain(
            rpc, chain_id=anvil.chain_id, settlement_address=contracts.settlement,
            private_key=SETTLER_KEY, confirmations=2,
        )  # fmt: skip
        worker = SettlementWorker(open_ledger(db_url, migrate_schema=False), chain, max_words=4,
                                  resend_after_ms=50)  # fmt: skip
        try:
            while not stop.is_set():
                with contextlib.suppress(RetryableSettlementError):
                    worker.tick()
        except BaseException as error:  # surfaced below: any crash fails the test
            failures.append(error)
        finally:
            worker.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for i in range(60):
            payee = PAYEES[i % len(PAYEES)]
            book.record_usage(f"t{i}", payee=payee, amount_wei=10**12 + i)
            expected[payee] += 10**12 + i
            client.request("anvil_mine", "0x1")
        chain = EvmPayoutChain(
            client, chain_id=anvil.chain_id, settlement_address=contracts.settlement,
            private_key=SETTLER_KEY, confirmations=2,
        )  # fmt: skip
        drain = SettlementWorker(book, chain)
        for _ in range(300):
            if not drain.outstanding():
                break
            client.request("anvil_mine", "0x1")
            threading.Event().wait(0.02)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert failures == []
    assert drain.outstanding() == 0
    for payee in PAYEES:
        assert token_balance(client, contracts.token, payee) == expected[payee]
    report = reconcile(book, chain, token_address=contracts.token)
    assert report.ok, report
    assert client.transaction_count(chain.sender) - 1 == report.batches_checked
    book.close()
