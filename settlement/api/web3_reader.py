"""The chain port on web3.py: ERC20 `balanceOf` and the sum of a funder's open escrows.

Raw `eth_call`s with hand-encoded calldata (no contract objects: fewer allocations, no ABI files at
run time). All reads of one address are pinned to one block. The escrow contract keeps escrows by
id, not by funder, so a funder's escrow balance is the sum of `escrows(id).balance` over the ids of
its `EscrowDeposited` logs; the log scan starts at `escrow_from_block` (set it to the deployment
block), and the whole reading is cached by the caller.
"""

from __future__ import annotations

from typing import Any

from eth_utils.crypto import keccak
from web3 import HTTPProvider, Web3

from settlement.api.balances import ChainBalances
from settlement.errors import RetryableSettlementError
from settlement.ledger.amounts import normalize_address

BALANCE_OF = bytes.fromhex("70a08231")
ESCROWS = keccak(text="escrows(uint256)")[:4]
ESCROW_DEPOSITED = "0x" + keccak(text="EscrowDeposited(uint256,address,uint256,uint64)").hex()
MAX_ESCROWS_PER_READ = 1_000


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _address_word(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address[2:])


class Web3BalanceReader:
    """Reads token and escrow balances from a JSON-RPC node, each request bounded by a timeout."""

    def __init__(
        self,
        rpc_url: str,
        token_address: str,
        escrow_address: str | None = None,
        *,
        timeout_s: float = 1.0,
        escrow_from_block: int = 0,
    ) -> None:
        provider = HTTPProvider(rpc_url, request_kwargs={"timeout": timeout_s})
        self.w3 = Web3(provider)
        self.token = Web3.to_checksum_address(normalize_address(token_address))
        self.escrow = (
            None if escrow_address is None else Web3.to_checksum_address(escrow_address.lower())
        )
        self.escrow_from_block = escrow_from_block

    def _call(self, to: str, data: bytes, block: int) -> bytes:
        tx: Any = {"to": to, "data": "0x" + data.hex()}
        return bytes(self.w3.eth.call(tx, block))

    def read(self, address: str) -> ChainBalances:
        """Return token and escrow balances of `address` at the latest block."""
        try:
            block = int(self.w3.eth.block_number)
            word = _address_word(normalize_address(address))
            token_wei = int.from_bytes(self._call(self.token, BALANCE_OF + word, block), "big")
            escrow_wei = 0 if self.escrow is None else self._escrow_wei(word, block)
        except RetryableSettlementError:
            raise
        except Exception as error:  # any transport or RPC failure is a retryable read
            raise RetryableSettlementError(f"chain read failed: {error}") from error
        return ChainBalances(token_wei=token_wei, escrow_wei=escrow_wei, block_number=block)

    def _escrow_wei(self, funder_word: bytes, block: int) -> int:
        assert self.escrow is not None  # noqa: S101 - checked by the caller
        logs = self.w3.eth.get_logs(
            {
                "address": self.escrow,
                "fromBlock": self.escrow_from_block,
                "toBlock": block,
                "topics": [ESCROW_DEPOSITED, None, "0x" + funder_word.hex()],
            }
        )
        escrow_ids = sorted({int.from_bytes(bytes(log["topics"][1]), "big") for log in logs})
        if len(escrow_ids) > MAX_ESCROWS_PER_READ:
            raise RetryableSettlementError(
                f"funder has {len(escrow_ids)} escrows; more than {MAX_ESCROWS_PER_READ} per read"
            )
        total = 0
        for escrow_id in escrow_ids:
            out = self._call(self.escrow, ESCROWS + _word(escrow_id), block)
            total += int.from_bytes(out[32:64], "big")  # (funder, balance, expiry)
        return total
