"""A usage event followed to a final on-chain transfer, through the ledger, on anvil."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import update

from settlement.chain.client import JsonRpcChainClient
from settlement.chain.evm import EvmPayoutChain
from settlement.ledger import Ledger
from settlement.ledger.models import Batch, Payout
from settlement.payouts.devnet import DevContracts, token_balance
from settlement.payouts.outbox import Event, deliver_outbox
from settlement.payouts.reconcile import reconcile
from settlement.payouts.states import Finality, PayoutState
from settlement.payouts.worker import SettlementWorker

pytestmark = pytest.mark.chain
REQUESTOR = "0x" + "a1" * 20
PROVIDER = "0x" + "b2" * 20
OWNER = "0x" + "c3" * 20


def test_usage_event_reaches_a_final_transfer(
    book: Ledger,
    worker: SettlementWorker,
    client: JsonRpcChainClient,
    contracts: DevContracts,
    chain: EvmPayoutChain,
    tick_until: Callable[[SettlementWorker, Callable[[], bool]], None],
) -> None:
    book.credit(REQUESTOR, 10**18, idempotency_key="deposit-1")
    book.record_usage("req-1/provider", payer=REQUESTOR, payee=PROVIDER, amount_wei=7 * 10**15)
    book.record_usage("req-1/owner", payer=REQUESTOR, payee=OWNER, amount_wei=3 * 10**15)
    book.record_usage("req-2/provider", payer=REQUESTOR, payee=PROVIDER, amount_wei=10**15)

    tick_until(worker, lambda: book.usage_trace("req-1/provider").payout_state == "mined")
    trace = book.usage_trace("req-1/provider")
    assert trace.payout_state == PayoutState.MINED  # anvil automines; not yet K deep
    assert trace.payout_amount_wei == 8 * 10**15  # netted with req-2
    assert book.paid_out(PROVIDER) == 0

    client.request("anvil_mine", hex(chain.confirmations))
    worker.tick()
    trace = book.usage_trace("req-1/provider")
    assert trace.payout_state == PayoutState.FINAL
    assert trace.finality == Finality.L1_CONFIRMATIONS
    assert trace.tx_hash is not None
    receipt = client.receipts([trace.tx_hash])[trace.tx_hash]
    assert receipt.status == 1
    assert receipt.block_hash == trace.block_hash
    assert chain.batch_executed(str(trace.batch_key))
    assert token_balance(client, contracts.token, PROVIDER) == 8 * 10**15
    assert token_balance(client, contracts.token, OWNER) == 3 * 10**15
    assert book.paid_out(PROVIDER) == 8 * 10**15
    assert book.pending_payouts(PROVIDER) == 0
    assert book.credit_balance(REQUESTOR) == 10**18 - 11 * 10**15


def test_finalized_batches_reach_the_outbox_once(
    book: Ledger,
    worker: SettlementWorker,
    client: JsonRpcChainClient,
    chain: EvmPayoutChain,
    tick_until: Callable[[SettlementWorker, Callable[[], bool]], None],
) -> None:
    book.record_usage("o-1", payee=PROVIDER, amount_wei=5)
    tick_until(worker, lambda: book.usage_trace("o-1").payout_state == "mined")
    client.request("anvil_mine", hex(chain.confirmations))
    worker.tick()
    seen: list[Event] = []
    assert deliver_outbox(book, seen.append) == 1
    assert deliver_outbox(book, seen.append) == 0
    assert seen[0].topic == "PayoutBatchFinalized"
    assert seen[0].payload["tx_hash"] == book.usage_trace("o-1").tx_hash
    assert seen[0].payload["total_wei"] == "5"


def test_reconcile_catches_a_ledger_that_disagrees_with_the_chain(
    book: Ledger,
    worker: SettlementWorker,
    client: JsonRpcChainClient,
    contracts: DevContracts,
    chain: EvmPayoutChain,
    tick_until: Callable[[SettlementWorker, Callable[[], bool]], None],
) -> None:
    book.record_usage("r-1", payee=PROVIDER, amount_wei=10**15)
    tick_until(worker, lambda: book.usage_trace("r-1").payout_state == "mined")
    client.request("anvil_mine", hex(chain.confirmations))
    worker.tick()
    healthy = reconcile(book, chain, token_address=contracts.token)
    assert healthy.ok
    assert healthy.logs_checked
    with book.transaction() as session:  # corrupt the ledger's idea of what batch 1 paid
        session.execute(update(Batch).values(total_wei=2 * 10**15))
        session.execute(update(Payout).values(amount_wei=2 * 10**15))
    broken = reconcile(book, chain, token_address=contracts.token)
    assert not broken.ok
    assert list(broken.batch_total_mismatches.values()) == [(2 * 10**15, 10**15)]
    assert broken.balance_mismatches == {PROVIDER: (2 * 10**15, 10**15)}
