"""Dev-chain set-up for tests and benchmarks: deploy token + settlement, fund and approve a settler.

Raw signed transactions through the chain-client port (no web3 middleware), on anvil's dev keys.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from eth_abi.abi import encode
from eth_account import Account
from eth_utils.crypto import keccak

from settlement.chain.artifacts import SETTLEMENT, TOKEN, load_artifact
from settlement.chain.client import JsonRpcChainClient, Receipt
from settlement.errors import FatalSettlementError

MAX_UINT256 = 2**256 - 1


@dataclass(frozen=True, slots=True)
class DevContracts:
    """Addresses of a dev deployment (lower-case)."""

    token: str
    settlement: str
    settler: str


def _selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def send_and_wait(
    client: JsonRpcChainClient, key: str, *, to: str | None, data: bytes, gas: int
) -> Receipt:
    """Sign and send one transaction from `key` and wait for its receipt (dev chains only)."""
    account = Account.from_key(key)
    nonce = client.transaction_count(account.address, "pending")
    base = client.base_fee_wei()
    tx: dict[str, object] = {
        "type": 2, "chainId": client.chain_id(), "nonce": nonce, "value": 0, "data": data,
        "gas": gas, "maxFeePerGas": 2 * base + 10**9, "maxPriorityFeePerGas": 10**9,
    }  # fmt: skip
    if to is not None:
        tx["to"] = bytes.fromhex(to.removeprefix("0x"))
    signed = account.sign_transaction(tx)
    tx_hash = client.send_raw_transaction("0x" + bytes(signed.raw_transaction).hex())
    for _ in range(200):
        found = client.receipts([tx_hash])
        if tx_hash in found:
            if found[tx_hash].status != 1:
                raise FatalSettlementError(f"dev transaction {tx_hash} reverted")
            return found[tx_hash]
        time.sleep(0.02)
    raise FatalSettlementError(f"dev transaction {tx_hash} was not mined")


def contract_address(client: JsonRpcChainClient, receipt: Receipt) -> str:
    """Return the address a deployment receipt created."""
    raw = client.request("eth_getTransactionReceipt", receipt.tx_hash)
    return str(raw["contractAddress"]).lower()


def deploy_dev_contracts(
    client: JsonRpcChainClient, admin_key: str, settler_key: str, *, mint_wei: int
) -> DevContracts:
    """Deploy token and settlement, mint `mint_wei` to the settler and approve the settlement."""
    admin = Account.from_key(admin_key).address
    settler = Account.from_key(settler_key).address
    token_art, settlement_art = load_artifact(TOKEN), load_artifact(SETTLEMENT)
    token_code = bytes.fromhex(token_art.bytecode.removeprefix("0x"))
    token = contract_address(
        client,
        send_and_wait(
            client, admin_key, to=None, gas=6_000_000,
            data=token_code + encode(["address", "address"], [admin, admin]),
        ),
    )  # fmt: skip
    settlement_code = bytes.fromhex(settlement_art.bytecode.removeprefix("0x"))
    settlement = contract_address(
        client,
        send_and_wait(
            client, admin_key, to=None, gas=6_000_000,
            data=settlement_code
            + encode(["address", "address", "address"], [token, admin, settler]),
        ),
    )  # fmt: skip
    mint = _selector("mint(address,uint256)") + encode(["address", "uint256"], [settler, mint_wei])
    send_and_wait(client, admin_key, to=token, data=mint, gas=200_000)
    approve = _selector("approve(address,uint256)") + encode(
        ["address", "uint256"], [settlement, MAX_UINT256]
    )
    send_and_wait(client, settler_key, to=token, data=approve, gas=200_000)
    return DevContracts(token=token, settlement=settlement, settler=settler.lower())


def token_balance(client: JsonRpcChainClient, token: str, holder: str) -> int:
    """Return `holder`'s ERC20 balance."""
    data = _selector("balanceOf(address)") + encode(["address"], [holder])
    return int.from_bytes(client.call(token, "0x" + data.hex()), "big")
