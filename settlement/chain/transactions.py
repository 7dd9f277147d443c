"""Sign locally and send raw EIP-1559 transactions (web3 transact() costs ~9 RPC calls each)."""

from __future__ import annotations

import time
from typing import Any

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TimeExhausted, Web3RPCError
from web3.types import TxReceipt

from settlement.chain.errors import ConfirmationTimeoutError, DeployFailedError

DEFAULT_PRIORITY_FEE_WEI = 1_000_000_000
GAS_HEADROOM_NUM, GAS_HEADROOM_DEN = 12, 10  # 20 % above the estimate
POLL_INTERVAL_S = 0.1


def fee_params(w3: Web3) -> dict[str, int]:
    """Return EIP-1559 fee fields: max fee = 2 x base fee + tip (survives a base fee doubling)."""
    base_fee = int(w3.eth.get_block("latest").get("baseFeePerGas", 0))
    try:
        tip = int(w3.eth.max_priority_fee)
    except (ValueError, Web3RPCError):  # an endpoint without eth_maxPriorityFeePerGas
        tip = DEFAULT_PRIORITY_FEE_WEI
    return {"maxFeePerGas": 2 * base_fee + tip, "maxPriorityFeePerGas": tip}


def with_headroom(gas: int) -> int:
    """Return a gas limit a little above an estimate."""
    return gas * GAS_HEADROOM_NUM // GAS_HEADROOM_DEN


def send_signed(w3: Web3, account: LocalAccount, tx: dict[str, Any]) -> HexBytes:
    """Sign `tx` (which must carry nonce, gas and fees) with `account` and broadcast it."""
    full = {"chainId": w3.eth.chain_id, "type": 2, "value": 0, **tx}
    signed = account.sign_transaction(full)
    return HexBytes(w3.eth.send_raw_transaction(signed.raw_transaction))


def wait_confirmed(
    w3: Web3, tx_hash: HexBytes, *, confirmations: int, timeout_s: float
) -> TxReceipt:
    """Wait for the receipt, require success, then wait until it has `confirmations` blocks."""
    try:
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout_s)
    except TimeExhausted as error:
        raise DeployFailedError(f"transaction {tx_hash.to_0x_hex()} not mined in time") from error
    if receipt["status"] != 1:
        raise DeployFailedError(f"transaction {tx_hash.to_0x_hex()} reverted")
    deadline = time.monotonic() + timeout_s
    target = receipt["blockNumber"] + confirmations - 1
    while w3.eth.block_number < target:
        if time.monotonic() > deadline:
            raise ConfirmationTimeoutError(
                f"transaction {tx_hash.to_0x_hex()} has fewer than {confirmations} confirmations "
                f"after {timeout_s:.0f} s"
            )
        time.sleep(POLL_INTERVAL_S)
    return receipt
