"""Reorgs shallower than K never leave a wrongly final payout; a stuck send is fee-bumped."""

from __future__ import annotations

import random

import pytest
from eth_account import Account
from sqlalchemy import select

from settlement.chain.client import JsonRpcChainClient
from settlement.chain.evm import EvmPayoutChain
from settlement.ledger import Ledger
from settlement.ledger.models import Batch, TxAttempt
from settlement.payouts.devnet import DevContracts, token_balance
from settlement.payouts.reconcile import reconcile
from settlement.payouts.states import PayoutState
from settlement.payouts.worker import SettlementWorker

pytestmark = pytest.mark.chain
PAYEES = [f"0x{i:040x}" for i in range(0x2000, 0x2000 + 24)]
SETTLER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"


def _final_batches_not_canonical(book: Ledger, client: JsonRpcChainClient) -> int:
    with book.transaction() as session:
        finals = session.execute(
            select(Batch.tx_hash, Batch.block_number, Batch.block_hash).where(
                Batch.state == PayoutState.FINAL
            )
        ).all()
    receipts = client.receipts([tx for tx, _, _ in finals if tx])
    wrong = 0
    for tx_hash, number, block_hash in finals:
        receipt = receipts.get(str(tx_hash))
        canonical = client.block_hash(int(number)) if number is not None else None
        wrong += receipt is None or receipt.block_hash != block_hash or canonical != block_hash
    return wrong


def test_reorgs_shallower_than_k_never_leave_a_wrong_final(
    book: Ledger, worker: SettlementWorker, client: JsonRpcChainClient,
    contracts: DevContracts, chain: EvmPayoutChain,
) -> None:  # fmt: skip
    rng = random.Random(5)  # noqa: S311 - test schedule
    expected = dict.fromkeys(PAYEES, 0)
    worker.max_words = 4
    wrongly_final = reorgs = 0
    for round_no in range(40):
        payee, amount = rng.choice(PAYEES), rng.randrange(1, 10**18)
        book.record_usage(f"u{round_no}", payee=payee, amount_wei=amount)
        expected[payee] += amount
        worker.tick()
        if rng.random() < 0.6:
            client.request("anvil_mine", hex(rng.randrange(1, 3)))
        if rng.random() < 0.5:
            client.request("anvil_reorg", rng.randrange(1, chain.confirmations), [])
            reorgs += 1
        worker.tick()
        wrongly_final += _final_batches_not_canonical(book, client)
    for _ in range(200):
        if not worker.outstanding():
            break
        client.request("anvil_mine", "0x1")
        worker.tick()
    with book.transaction() as session:
        reorged_batches = sum(session.scalars(select(Batch.reorg_count)))
    print(f"\nreorgs={reorgs} batch_reorg_events={reorged_batches} wrongly_final={wrongly_final}")
    assert worker.outstanding() == 0
    assert wrongly_final == 0
    assert reorged_batches > 0  # the reorgs really hit in-flight batches
    for payee in PAYEES:
        assert token_balance(client, contracts.token, payee) == expected[payee]
    assert reconcile(book, chain, token_address=contracts.token).ok


def test_stuck_transaction_is_replaced_at_the_same_nonce(
    book: Ledger, worker: SettlementWorker, client: JsonRpcChainClient,
    contracts: DevContracts, chain: EvmPayoutChain,
) -> None:  # fmt: skip
    client.request("evm_setAutomine", False)
    try:
        book.record_usage("u1", payee=PAYEES[0], amount_wei=10**15)
        worker.tick()  # signed and sent, but nothing mines it
        worker.stuck_after_ms = 0
        worker.tick()  # replaced by a fee-bumped attempt at the same nonce
        worker.stuck_after_ms = 10**9
        with book.transaction() as session:
            attempts = session.execute(
                select(TxAttempt.nonce, TxAttempt.tx_hash, TxAttempt.max_fee_per_gas_wei)
            ).all()
        assert len(attempts) >= 2
        assert len({nonce for nonce, _, _ in attempts}) == 1
        assert attempts[-1][2] > attempts[0][2]
        client.request("evm_mine")
    finally:
        client.request("evm_setAutomine", True)
    client.request("anvil_mine", hex(chain.confirmations))
    worker.tick()
    worker.tick()
    trace = book.usage_trace("u1")
    assert trace.payout_state == PayoutState.FINAL
    assert trace.tx_hash == attempts[-1][1]  # the node kept the replacement
    assert token_balance(client, contracts.token, PAYEES[0]) == 10**15


def test_a_nonce_taken_by_another_transaction_is_resigned_and_paid_once(
    book: Ledger, worker: SettlementWorker, client: JsonRpcChainClient,
    contracts: DevContracts, chain: EvmPayoutChain,
) -> None:  # fmt: skip
    client.request("evm_setAutomine", False)
    try:
        book.record_usage("u1", payee=PAYEES[1], amount_wei=10**15)
        worker.tick()  # signed at nonce n and sent; not mined
        with book.transaction() as session:
            nonce = session.scalar(select(Batch.nonce))
        assert nonce is not None
        # An operator sends something else with the same key and nonce, at a higher fee.
        foreign = Account.from_key(SETTLER_KEY).sign_transaction({
            "type": 2, "chainId": chain.chain_id, "nonce": nonce, "to": Account.create().address,
            "value": 1, "gas": 21_000, "maxFeePerGas": 10**12, "maxPriorityFeePerGas": 10**11,
        })  # fmt: skip
        client.send_raw_transaction("0x" + bytes(foreign.raw_transaction).hex())
        client.request("evm_mine")
        worker.tick()  # our attempt can never mine now: back to BATCHED
    finally:
        client.request("evm_setAutomine", True)
    worker.tick()  # re-signed at a fresh nonce, sent, mined
    client.request("anvil_mine", hex(chain.confirmations))
    worker.tick()
    with book.transaction() as session:
        nonces = session.scalars(select(TxAttempt.nonce)).all()
    assert sorted(set(nonces)) == [nonce, nonce + 1]
    assert book.usage_trace("u1").payout_state == PayoutState.FINAL
    assert token_balance(client, contracts.token, PAYEES[1]) == 10**15
    assert reconcile(book, chain, token_address=contracts.token).ok
