"""The chain-client port (a Protocol) and its JSON-RPC adapter over httpx (no web3 on the hot path).

web3.py makes several RPC calls per transaction and has no nonce manager; the sender needs only a
handful of raw calls, each of which must fail as a typed, retryable error rather than hang.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from settlement.errors import FatalSettlementError, RetryableSettlementError


class RpcTimeoutError(RetryableSettlementError, TimeoutError):
    """The node did not answer in time (the call may or may not have taken effect)."""


class RpcTransportError(RetryableSettlementError, ConnectionError):
    """The connection failed or the reply was not JSON-RPC."""


class RpcError(RetryableSettlementError):
    """The node answered with a JSON-RPC error object."""

    def __init__(self, method: str, code: int, message: str) -> None:
        super().__init__(f"{method} failed ({code}): {message}")
        self.code = code
        self.message = message


class ChainMismatchError(FatalSettlementError, ValueError):
    """The node serves another chain than the one configured."""


@dataclass(frozen=True, slots=True)
class Receipt:
    """The part of a transaction receipt the confirmer needs."""

    tx_hash: str
    status: int
    block_number: int
    block_hash: str
    gas_used: int


class ChainClient(Protocol):
    """What settlement needs from a node (a real JSON-RPC endpoint or a fake)."""

    def chain_id(self) -> int: ...

    def block_number(self) -> int: ...

    def block_hash(self, number: int) -> str | None: ...

    def base_fee_wei(self) -> int: ...

    def transaction_count(self, address: str, block: str = "latest") -> int: ...

    def send_raw_transaction(self, raw_tx: str) -> str: ...

    def receipts(self, tx_hashes: list[str]) -> dict[str, Receipt]: ...

    def call(self, to: str, data: str) -> bytes: ...

    def request(self, method: str, *params: Any) -> Any: ...


class JsonRpcChainClient:
    """ChainClient over HTTP JSON-RPC with a keep-alive connection and a per-call timeout."""

    def __init__(self, rpc_url: str, *, timeout_s: float = 5.0) -> None:
        self.rpc_url = rpc_url
        self._http = httpx.Client(timeout=timeout_s)
        self._ids = itertools.count(1)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def _post(self, body: object) -> Any:
        try:
            reply = self._http.post(self.rpc_url, json=body)
        except httpx.TimeoutException as error:
            raise RpcTimeoutError(f"RPC timed out at {self.rpc_url}") from error
        except httpx.TransportError as error:
            raise RpcTransportError(f"RPC transport failed at {self.rpc_url}: {error}") from error
        if reply.status_code != 200:
            raise RpcTransportError(f"RPC answered HTTP {reply.status_code}")
        try:
            return reply.json()
        except ValueError as error:
            raise RpcTransportError("RPC reply is not JSON") from error

    def request(self, method: str, *params: Any) -> Any:
        """Make one JSON-RPC call and return its result."""
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        reply = self._post(body)
        if not isinstance(reply, dict):
            raise RpcTransportError(f"{method}: malformed reply")
        if "error" in reply:
            error = reply["error"] or {}
            raise RpcError(method, int(error.get("code", 0)), str(error.get("message", "")))
        if "result" not in reply:
            raise RpcTransportError(f"{method}: reply without result")
        return reply["result"]

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Make several calls in one HTTP request; a failed call yields an RpcError in its slot."""
        if not calls:
            return []
        start = next(self._ids)
        body = [
            {"jsonrpc": "2.0", "id": start + i, "method": m, "params": p}
            for i, (m, p) in enumerate(calls)
        ]
        for _ in calls[1:]:
            next(self._ids)
        replies = self._post(body)
        if not isinstance(replies, list):
            raise RpcTransportError("batch reply is not a list")
        by_id = {r.get("id"): r for r in replies if isinstance(r, dict)}
        out: list[Any] = []
        for i, (method, _) in enumerate(calls):
            reply = by_id.get(start + i)
            if reply is None:
                raise RpcTransportError(f"batch reply lacks {method}")
            if "error" in reply:
                err = reply["error"] or {}
                out.append(RpcError(method, int(err.get("code", 0)), str(err.get("message", ""))))
            else:
                out.append(reply.get("result"))
        return out

    def chain_id(self) -> int:
        return int(self.request("eth_chainId"), 16)

    def block_number(self) -> int:
        return int(self.request("eth_blockNumber"), 16)

    def block_hash(self, number: int) -> str | None:
        block = self.request("eth_getBlockByNumber", hex(number), False)
        return None if block is None else str(block["hash"])

    def base_fee_wei(self) -> int:
        block = self.request("eth_getBlockByNumber", "latest", False)
        return int(block.get("baseFeePerGas", "0x0"), 16)

    def transaction_count(self, address: str, block: str = "latest") -> int:
        return int(self.request("eth_getTransactionCount", address, block), 16)

    def send_raw_transaction(self, raw_tx: str) -> str:
        return str(self.request("eth_sendRawTransaction", raw_tx))

    def receipts(self, tx_hashes: list[str]) -> dict[str, Receipt]:
        """Return the receipts that exist for `tx_hashes` (one HTTP request)."""
        results = self.batch([("eth_getTransactionReceipt", [h]) for h in tx_hashes])
        found: dict[str, Receipt] = {}
        for tx_hash, result in zip(tx_hashes, results, strict=True):
            if isinstance(result, RpcError):
                raise result
            if result is not None and result.get("blockHash"):
                found[tx_hash] = Receipt(
                    tx_hash=tx_hash,
                    status=int(result["status"], 16),
                    block_number=int(result["blockNumber"], 16),
                    block_hash=str(result["blockHash"]),
                    gas_used=int(result["gasUsed"], 16),
                )
        return found

    def call(self, to: str, data: str) -> bytes:
        result = self.request("eth_call", {"to": to, "data": data}, "latest")
        return bytes.fromhex(str(result).removeprefix("0x"))
