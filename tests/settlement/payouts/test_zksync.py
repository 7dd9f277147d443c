"""zkSync Era: EIP-1559 payouts on `anvil --chain-id 300` stop at SEQUENCER_CONFIRMED until the L1
batch executes; EIP-712 (0x71) transactions with a paymaster sign, encode and recover correctly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from settlement.chain.anvil import DEV_PRIVATE_KEYS, Anvil
from settlement.chain.client import JsonRpcChainClient
from settlement.chain.evm import Fees
from settlement.chain.rpc_proxy import FaultPlan, FaultProxy
from settlement.chain.zksync import ZkSyncPayoutChain
from settlement.chain.zksync_eip712 import (
    EIP712_TX_TYPE,
    approval_based_paymaster,
    decode_eip712,
    eip712_digest,
    general_paymaster,
    sign_eip712,
)
from settlement.ledger import open_ledger
from settlement.payouts.devnet import deploy_dev_contracts, token_balance
from settlement.payouts.states import Finality, PayoutState
from settlement.payouts.worker import SettlementWorker

KEY = DEV_PRIVATE_KEYS[1]
PAYEE = "0x" + "7a" * 20
PAYMASTER = "0x" + "9b" * 20
TOKEN = "0x" + "3c" * 20
FEES = Fees(max_fee_per_gas_wei=250_000_000, max_priority_fee_per_gas_wei=0)


@pytest.fixture(scope="module")
def zk_anvil() -> Iterator[Anvil]:
    with Anvil(chain_id=300) as node:
        yield node


@pytest.mark.chain
def test_zksync_payout_is_sequencer_confirmed_then_final_once_executed_on_l1(
    zk_anvil: Anvil, tmp_path: Path
) -> None:
    executed: set[int] = set()

    def block_details(params: list[Any]) -> dict[str, Any]:
        number = int(params[0])
        return {"number": number, "executeTxHash": "0x" + "ee" * 32 if number in executed else None}

    plan = FaultPlan(overrides={"zks_getBlockDetails": block_details})
    with FaultProxy(zk_anvil.rpc_url, plan) as proxy:
        client = JsonRpcChainClient(proxy.url)
        contracts = deploy_dev_contracts(client, DEV_PRIVATE_KEYS[0], KEY, mint_wei=10**24)
        chain = ZkSyncPayoutChain(
            client, chain_id=300, settlement_address=contracts.settlement, private_key=KEY,
            confirmations=2,
        )  # fmt: skip
        book = open_ledger(f"sqlite:///{tmp_path / 'zk.db'}")
        worker = SettlementWorker(book, chain)
        book.record_usage("zk-1", payee=PAYEE, amount_wei=5 * 10**15)
        worker.tick()
        client.request("anvil_mine", "0x3")
        worker.tick()
        trace = book.usage_trace("zk-1")
        assert trace.payout_state == PayoutState.SEQUENCER_CONFIRMED
        assert trace.finality == Finality.SEQUENCER_CONFIRMED
        assert book.paid_out(PAYEE) == 0  # not final: the L1 batch has not executed
        assert book.pending_payouts(PAYEE) == 5 * 10**15
        assert token_balance(client, contracts.token, PAYEE) == 5 * 10**15
        raw = client.request("eth_getTransactionByHash", trace.tx_hash)
        assert int(raw["chainId"], 16) == 300
        assert int(raw["type"], 16) == 2  # EIP-1559

        assert trace.block_number is not None
        executed.add(trace.block_number)
        worker.tick()
        trace = book.usage_trace("zk-1")
        assert trace.payout_state == PayoutState.FINAL
        assert trace.finality == Finality.EXECUTED_ON_L1
        assert book.paid_out(PAYEE) == 5 * 10**15
        book.close()
        client.close()


def test_executed_on_l1_is_false_on_a_node_without_the_zks_namespace(zk_anvil: Anvil) -> None:
    client = JsonRpcChainClient(zk_anvil.rpc_url)
    chain = ZkSyncPayoutChain(
        client, chain_id=300, settlement_address=TOKEN, private_key=KEY, confirmations=1
    )
    assert chain.executed_on_l1(0) is False
    client.close()


# -- EIP-712 (type 0x71) through the optional zksync2 extra -----------------------------------


@pytest.fixture
def zksync2() -> Any:
    return pytest.importorskip("zksync2", reason="optional extra `zksync` not installed")


def _signed(nonce: int = 7, paymaster: Any = None) -> Any:
    return sign_eip712(
        private_key=KEY, chain_id=300, nonce=nonce, to=TOKEN, data=b"\x12\x34", gas_limit=900_000,
        fees=FEES, paymaster=paymaster,
    )  # fmt: skip


def test_eip712_transaction_encodes_every_field(zksync2: Any) -> None:
    paymaster = approval_based_paymaster(PAYMASTER, TOKEN, 10**18)
    signed = _signed(paymaster=paymaster)
    raw = bytes.fromhex(signed.raw_tx[2:])
    assert raw[0] == EIP712_TX_TYPE
    fields = decode_eip712(raw)
    assert fields["nonce"] == 7
    assert fields["chain_id"] == fields["chain_id2"] == 300
    assert fields["to"] == bytes.fromhex(TOKEN[2:])
    assert fields["data"] == b"\x12\x34"
    assert fields["gas_limit"] == 900_000
    assert fields["max_fee"] == FEES.max_fee_per_gas_wei
    assert fields["from"] == bytes.fromhex(Account.from_key(KEY).address[2:])
    assert fields["gas_per_pubdata"] == 50_000
    assert fields["paymaster_params"] == [bytes.fromhex(PAYMASTER[2:]), paymaster.paymaster_input]
    assert len(fields["signature"]) == 65


def test_eip712_signature_recovers_the_sender_and_breaks_on_tampering(zksync2: Any) -> None:
    signed = _signed(paymaster=general_paymaster(PAYMASTER))
    raw = bytes.fromhex(signed.raw_tx[2:])
    signature = decode_eip712(raw)["signature"]
    sender = Account.from_key(KEY).address
    assert Account._recover_hash(eip712_digest(300, raw), signature=signature) == sender
    other = bytes.fromhex(_signed(nonce=8).raw_tx[2:])
    assert Account._recover_hash(eip712_digest(300, other), signature=signature) != sender
    assert Account._recover_hash(eip712_digest(324, raw), signature=signature) != sender


def test_eip712_hash_is_deterministic_and_binds_the_nonce(zksync2: Any) -> None:
    assert _signed().tx_hash == _signed().tx_hash
    assert _signed().tx_hash != _signed(nonce=8).tx_hash
    assert len(bytes.fromhex(_signed().tx_hash[2:])) == 32


# zksync2 reads its bundled ABI through a deprecated importlib.resources call.
@pytest.mark.filterwarnings("ignore:path is deprecated:DeprecationWarning")
def test_paymaster_input_matches_zksync2_encoder(zksync2: Any) -> None:
    from web3 import Web3
    from zksync2.manage_contracts.paymaster_utils import PaymasterFlowEncoder

    encoder = PaymasterFlowEncoder(Web3())
    ours = approval_based_paymaster(PAYMASTER, TOKEN, 123, b"\x01").paymaster_input
    theirs = encoder.encode_approval_based(Web3.to_checksum_address(TOKEN), 123, b"\x01")
    assert "0x" + ours.hex() == theirs
    assert "0x" + general_paymaster(PAYMASTER).paymaster_input.hex() == encoder.encode_general(b"")
