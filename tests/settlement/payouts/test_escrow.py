"""Escrow payouts: paid and reconciled; an underfunded escrow reverts and nothing is lost.

The settler key also sends the deposit and the top-up: the worker must never reuse their nonces.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from eth_abi.abi import encode
from eth_utils.crypto import keccak
from sqlalchemy import select

from settlement.chain.client import JsonRpcChainClient
from settlement.chain.evm import EvmPayoutChain
from settlement.ledger import Ledger
from settlement.ledger.models import Batch
from settlement.payouts.devnet import DevContracts, send_and_wait, token_balance
from settlement.payouts.reconcile import reconcile
from settlement.payouts.states import PayoutState
from settlement.payouts.worker import SettlementWorker

pytestmark = pytest.mark.chain
SETTLER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
PAYEES = ["0x" + "e1" * 20, "0x" + "e2" * 20]


def _call(
    client: JsonRpcChainClient, to: str, signature: str, types: list[str], args: list[object]
) -> None:
    data = keccak(text=signature)[:4] + encode(types, args)
    send_and_wait(client, SETTLER_KEY, to=to, data=data, gas=300_000)


def test_escrow_pays_reverts_when_short_and_recovers_after_top_up(
    book: Ledger,
    client: JsonRpcChainClient,
    contracts: DevContracts,
    chain: EvmPayoutChain,
    tick_until: Callable[[SettlementWorker, Callable[[], bool]], None],
) -> None:
    now = int(client.request("eth_getBlockByNumber", "latest", False)["timestamp"], 16)
    _call(
        client,
        contracts.settlement,
        "deposit(uint256,uint64)",
        ["uint256", "uint64"],
        [10**15, now + 3600],
    )
    chain.escrow_id = 1
    worker = SettlementWorker(book, chain)
    book.record_usage("e-1", payee=PAYEES[0], amount_wei=6 * 10**14)
    book.record_usage("e-2", payee=PAYEES[1], amount_wei=6 * 10**14)  # 1.2e15 > escrow's 1e15
    tick_until(worker, lambda: book.usage_trace("e-1").payout_state == "pending")
    with book.transaction() as session:
        states = session.scalars(select(Batch.state)).all()
    assert states == [PayoutState.REVERTED]
    assert book.usage_trace("e-1").payout_state == PayoutState.PENDING  # released, not lost
    assert token_balance(client, contracts.token, PAYEES[0]) == 0

    _call(
        client, contracts.settlement, "topUp(uint256,uint256)", ["uint256", "uint256"], [1, 10**15]
    )
    tick_until(worker, lambda: book.usage_trace("e-1").payout_state == "mined")
    client.request("anvil_mine", hex(chain.confirmations))
    worker.tick()
    assert worker.outstanding() == 0
    assert [token_balance(client, contracts.token, p) for p in PAYEES] == [6 * 10**14] * 2
    report = reconcile(book, chain, token_address=contracts.token, escrow_id=1)
    assert report.ok, report
    assert report.escrow_balance_wei == 2 * 10**15 - 12 * 10**14
    assert report.escrow_expected_wei == report.escrow_balance_wei  # from the contract's events
    assert report.logs_checked
