"""One conformance suite for the chain-client port: the in-memory fake and anvil answer alike."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from eth_account import Account

from settlement.chain.anvil import DEV_PRIVATE_KEYS, Anvil
from settlement.chain.client import ChainClient, JsonRpcChainClient, Receipt, RpcError
from settlement.chain.fake import FakeChain

KEY = DEV_PRIVATE_KEYS[3]
SENDER = Account.from_key(KEY).address.lower()
SINK = "0x" + "0f" * 20


@pytest.fixture(params=["fake", pytest.param("anvil", marks=pytest.mark.chain)])
def node(request: pytest.FixtureRequest) -> Iterator[ChainClient]:
    if request.param == "fake":
        yield FakeChain(31337, settlement_address=SINK)
        return
    anvil: Anvil = request.getfixturevalue("anvil")
    client = JsonRpcChainClient(anvil.rpc_url)
    yield client
    client.close()


def _signed(node: ChainClient, nonce: int, fee_wei: int = 3 * 10**9) -> str:
    tx = {
        "type": 2, "chainId": node.chain_id(), "nonce": nonce, "to": bytes.fromhex(SINK[2:]),
        "value": 1, "data": b"", "gas": 60_000, "maxFeePerGas": fee_wei,
        "maxPriorityFeePerGas": 10**9,
    }  # fmt: skip
    return "0x" + bytes(Account.from_key(KEY).sign_transaction(tx).raw_transaction).hex()


def _receipt(node: ChainClient, tx_hash: str) -> Receipt:
    # anvil's automine may answer the send a moment before the receipt is queryable.
    for _ in range(100):
        found = node.receipts([tx_hash])
        if tx_hash in found:
            return found[tx_hash]
        time.sleep(0.02)
    raise AssertionError(f"{tx_hash} was not mined")


def test_a_sent_transaction_is_mined_with_a_receipt_on_the_canonical_chain(
    node: ChainClient,
) -> None:
    nonce = node.transaction_count(SENDER)
    tx_hash = node.send_raw_transaction(_signed(node, nonce))
    receipt = _receipt(node, tx_hash)
    assert receipt.status == 1
    assert node.block_hash(receipt.block_number) == receipt.block_hash
    assert node.transaction_count(SENDER) == nonce + 1
    assert node.block_number() >= receipt.block_number


def test_resending_or_reusing_a_mined_nonce_is_refused(node: ChainClient) -> None:
    nonce = node.transaction_count(SENDER)
    raw = _signed(node, nonce)
    node.send_raw_transaction(raw)
    for again in (raw, _signed(node, nonce, fee_wei=9 * 10**9)):
        with pytest.raises(RpcError) as refused:
            node.send_raw_transaction(again)
        assert any(m in refused.value.message.lower() for m in ("nonce too low", "already known"))


def test_a_reorg_removes_the_receipt_and_changes_the_block_hash(node: ChainClient) -> None:
    tx_hash = node.send_raw_transaction(_signed(node, node.transaction_count(SENDER)))
    receipt = _receipt(node, tx_hash)
    node.request("anvil_mine", "0x1")
    node.request("anvil_reorg", 2, [])
    assert node.receipts([tx_hash]) == {}
    assert node.block_hash(receipt.block_number) != receipt.block_hash


def test_unknown_hashes_have_no_receipt(node: ChainClient) -> None:
    assert node.receipts(["0x" + "ab" * 32]) == {}


def test_unknown_methods_are_rpc_errors(node: ChainClient) -> None:
    with pytest.raises(RpcError):
        node.request("zks_getBlockDetails", 1)
