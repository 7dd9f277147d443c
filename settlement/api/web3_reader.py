"""The chain port on web3.py: ERC20 `balanceOf` and the sum of a funder's open escrows.

Hand-encoded `eth_call`s (no contract objects, no ABI files at run time), pinned to one block.
The escrow contract keeps escrows by id, not by funder, so a funder's escrow balance is the sum of
`escrows(id).balance` over the ids of its `EscrowDeposited` logs; the log scan starts at
`escrow_from_block` (set it to the deployment block), and the whole reading is cached by the caller.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from eth_utils.crypto import keccak
from web3 import HTTPProvider, Web3
from web3.types import RPCEndpoint

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
    """Reads token and escrow balances from a JSON-RPC node, each request bounded by a timeout.

    Requests go straight through web3's HTTP provider as JSON-RPC batches (one round trip per
    reading, two when the funder has escrows): web3's per-call middleware and formatting cost
    about 1 ms of CPU per call, which an endpoint refreshing thousands of cached readings cannot
    afford. The head block is fetched at most once per `block_ttl_s` and shared by all readings.
    """

    def __init__(
        self,
        rpc_url: str,
        token_address: str,
        escrow_address: str | None = None,
        *,
        timeout_s: float = 1.0,
        escrow_from_block: int = 0,
        block_ttl_s: float = 1.0,
    ) -> None:
        self.provider = HTTPProvider(rpc_url, request_kwargs={"timeout": timeout_s})
        self.w3 = Web3(self.provider)
        self.token = normalize_address(token_address, field="token_address")
        self.escrow = (
            None if escrow_address is None else normalize_address(escrow_address, field="escrow")
        )
        self.escrow_from_block = escrow_from_block
        self.block_ttl_s = block_ttl_s
        self._head = (0, float("-inf"))
        self._head_lock = threading.Lock()

    def _batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        replies: Any = self.provider.make_batch_request(
            [(RPCEndpoint(method), params) for method, params in calls]
        )
        if not isinstance(replies, list):
            raise RetryableSettlementError(f"chain batch failed: {dict(replies).get('error')}")
        results = []
        for (method, _), reply in zip(calls, replies, strict=True):
            if reply.get("error"):
                raise RetryableSettlementError(f"{method} failed: {reply['error']}")
            results.append(reply["result"])
        return results

    def head_block(self) -> int:
        """Return the latest block number, asked of the node at most once per `block_ttl_s`."""
        with self._head_lock:
            number, fetched_at_s = self._head
            if time.monotonic() - fetched_at_s >= self.block_ttl_s:
                number = int(self._batch([("eth_blockNumber", [])])[0], 16)
                self._head = (number, time.monotonic())
            return number

    def read(self, address: str) -> ChainBalances:
        """Return token and escrow balances of `address`, all read at one recent block."""
        try:
            return self._read(normalize_address(address))
        except RetryableSettlementError:
            raise
        except Exception as error:  # any transport or RPC failure is a retryable read
            raise RetryableSettlementError(f"chain read failed: {error}") from error

    def _read(self, address: str) -> ChainBalances:
        block = self.head_block()
        word = _address_word(address)
        calls: list[tuple[str, list[Any]]] = [
            ("eth_call", [{"to": self.token, "data": "0x" + (BALANCE_OF + word).hex()}, hex(block)])
        ]
        if self.escrow is not None:
            log_filter = {
                "address": self.escrow,
                "fromBlock": hex(self.escrow_from_block),
                "toBlock": hex(block),
                "topics": [ESCROW_DEPOSITED, None, "0x" + word.hex()],
            }
            calls.append(("eth_getLogs", [log_filter]))
        results = self._batch(calls)
        token_wei = int(results[0], 16)
        escrow_wei = 0 if self.escrow is None else self._escrow_wei(results[1], block)
        return ChainBalances(token_wei=token_wei, escrow_wei=escrow_wei, block_number=block)

    def _escrow_wei(self, logs: list[dict[str, Any]], block: int) -> int:
        escrow_ids = sorted({int(log["topics"][1], 16) for log in logs if not log.get("removed")})
        if len(escrow_ids) > MAX_ESCROWS_PER_READ:
            raise RetryableSettlementError(
                f"funder has {len(escrow_ids)} escrows; more than {MAX_ESCROWS_PER_READ} per read"
            )
        if not escrow_ids:
            return 0
        escrow = self.escrow
        calls: list[tuple[str, list[Any]]] = [
            ("eth_call", [{"to": escrow, "data": "0x" + (ESCROWS + _word(i)).hex()}, hex(block)])
            for i in escrow_ids
        ]
        # escrows(id) returns (funder, balance, expiry): the balance is the second word.
        return sum(int(out[2 + 64 : 2 + 128], 16) for out in self._batch(calls))
