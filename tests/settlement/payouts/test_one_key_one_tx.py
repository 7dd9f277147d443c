"""1,000 concurrent submissions with one idempotency key: 1 usage row, 1 payout, 1 transaction."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from settlement.chain.client import JsonRpcChainClient
from settlement.chain.evm import EvmPayoutChain
from settlement.ledger import Ledger, open_ledger
from settlement.ledger.models import Batch, Payout, TxAttempt, UsageEvent
from settlement.ledger.testing import pg_schema_url
from settlement.payouts.devnet import DevContracts, token_balance
from settlement.payouts.worker import SettlementWorker

pytestmark = pytest.mark.chain
PAYEE = "0x" + "5e" * 20
SUBMISSIONS = 1_000


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def any_book(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    if request.param == "sqlite":
        ledger = open_ledger(f"sqlite:///{tmp_path / 'l.db'}")
        yield ledger
        ledger.close()
        return
    with pg_schema_url() as url:
        ledger = open_ledger(url)
        yield ledger
        ledger.close()


def test_thousand_concurrent_submissions_make_one_transaction(
    any_book: Ledger, chain: EvmPayoutChain, client: JsonRpcChainClient, contracts: DevContracts
) -> None:
    worker = SettlementWorker(any_book, chain)

    def submit(_: int) -> bool:
        return any_book.record_usage("job-42", payee=PAYEE, amount_wei=123).created

    with ThreadPoolExecutor(max_workers=32) as pool:
        created = list(pool.map(submit, range(SUBMISSIONS)))
    worker.tick()
    for _ in range(SUBMISSIONS // 100):  # replays after settlement changed nothing either
        assert not any_book.record_usage("job-42", payee=PAYEE, amount_wei=123).created
    client.request("anvil_mine", hex(chain.confirmations))
    worker.tick()
    worker.tick()
    with any_book.transaction() as session:
        counts = [
            session.scalar(select(func.count()).select_from(table))
            for table in (UsageEvent, Payout, Batch, TxAttempt)
        ]
    assert created.count(True) == 1
    assert counts == [1, 1, 1, 1]
    assert token_balance(client, contracts.token, PAYEE) == 123
    assert client.transaction_count(chain.sender) == 2  # approve() + the one payout
