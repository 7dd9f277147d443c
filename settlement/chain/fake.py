"""An in-memory chain behind the ChainClient port: nonces, a mempool, blocks, reorgs, the contract.

It models what the sender relies on — one transaction per (sender, nonce), replacement only with a
>= 10 % fee bump, "already known" / "nonce too low" answers, receipts that vanish in a reorg — and
executes `payoutFromSettler` with one-shot batch ids, so engine-level properties (no double pay
under crashes, faults and reorgs) run in milliseconds. The conformance suite runs the same checks
against this fake and against anvil.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from eth_abi.abi import decode, encode
from eth_account import Account
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from settlement.chain.client import Receipt, RpcError

_PAYOUT = keccak(text="payoutFromSettler(uint256,uint256,bytes32[])")[:4]
_EXECUTED = keccak(text="batchExecuted(uint256)")[:4]
_BALANCE_OF = keccak(text="balanceOf(address)")[:4]
_AMOUNT_MASK = 2**96 - 1
BASE_FEE_WEI = 1_000_000_000


@dataclass(frozen=True, slots=True)
class FakeTx:
    """A decoded signed transaction."""

    tx_hash: str
    sender: str
    nonce: int
    to: str | None
    data: bytes
    max_fee: int
    priority_fee: int


@dataclass(slots=True)
class FakeBlock:
    """A block: its hash and the (transaction, status) pairs it holds."""

    number: int
    block_hash: str
    txs: list[tuple[FakeTx, int]] = field(default_factory=list)


class FakeChain:
    """A ChainClient with a settlement contract at `settlement_address` (token balances inside)."""

    def __init__(self, chain_id: int = 31337, *, settlement_address: str, automine: bool = True):
        self._chain_id = chain_id
        self.settlement_address = settlement_address.lower()
        self.automine = automine
        self._salt = itertools.count()
        self.blocks: list[FakeBlock] = [FakeBlock(0, self._new_hash())]
        self.pool: dict[tuple[str, int], FakeTx] = {}
        self.replays_refused = 0  # executions refused because the batch id had run already

    def _new_hash(self) -> str:
        return "0x" + keccak(next(self._salt).to_bytes(32, "big")).hex()

    # -- derived state ---------------------------------------------------------------------------

    def nonces(self) -> Counter[str]:
        """Return mined-transaction counts per sender."""
        return Counter(tx.sender for block in self.blocks for tx, _ in block.txs)

    def executed_ids(self) -> Counter[int]:
        """Return how often each batch id executed successfully (must never exceed 1)."""
        ids: Counter[int] = Counter()
        for block in self.blocks:
            for tx, status in block.txs:
                if status == 1 and tx.data[:4] == _PAYOUT:
                    ids[_decode_payout(tx.data)[0]] += 1
        return ids

    def balances(self) -> Counter[str]:
        """Return token balances credited by executed payouts."""
        held: Counter[str] = Counter()
        for block in self.blocks:
            for tx, status in block.txs:
                if status == 1 and tx.data[:4] == _PAYOUT:
                    for word in _decode_payout(tx.data)[2]:
                        value = int.from_bytes(word, "big")
                        held[f"0x{value >> 96:040x}"] += value & _AMOUNT_MASK
        return held

    # -- mining and reorgs -----------------------------------------------------------------------

    def mine(self, count: int = 1) -> None:
        """Mine `count` blocks, each with every executable pool transaction."""
        for _ in range(count):
            block = FakeBlock(len(self.blocks), self._new_hash())
            nonces, executed = self.nonces(), set(self.executed_ids())
            progressed = True
            while progressed:
                progressed = False
                for key, tx in sorted(self.pool.items()):
                    if tx.nonce == nonces[tx.sender]:
                        status = self._execute(tx, executed)
                        block.txs.append((tx, status))
                        nonces[tx.sender] += 1
                        del self.pool[key]
                        progressed = True
            self.blocks.append(block)

    def _execute(self, tx: FakeTx, executed: set[int]) -> int:
        if tx.to != self.settlement_address or tx.data[:4] != _PAYOUT:
            return 1
        batch_id, total, words = _decode_payout(tx.data)
        if batch_id in executed:
            self.replays_refused += 1
            return 0
        if not words or total != sum(int.from_bytes(w, "big") & _AMOUNT_MASK for w in words):
            return 0
        executed.add(batch_id)
        return 1

    def reorg(self, depth: int) -> None:
        """Replace the last `depth` blocks by empty ones (their transactions are dropped)."""
        del self.blocks[len(self.blocks) - depth :]
        for _ in range(depth):
            self.blocks.append(FakeBlock(len(self.blocks), self._new_hash()))

    # -- ChainClient -----------------------------------------------------------------------------

    def chain_id(self) -> int:
        return self._chain_id

    def block_number(self) -> int:
        return len(self.blocks) - 1

    def block_hash(self, number: int) -> str | None:
        return self.blocks[number].block_hash if 0 <= number < len(self.blocks) else None

    def base_fee_wei(self) -> int:
        return BASE_FEE_WEI

    def transaction_count(self, address: str, block: str = "latest") -> int:
        mined = self.nonces()[address.lower()]
        if block != "pending":
            return mined
        pending = {n for (s, n) in self.pool if s == address.lower()}
        while mined in pending:
            mined += 1
        return mined

    def send_raw_transaction(self, raw_tx: str) -> str:
        tx = decode_signed(raw_tx, self._chain_id)
        if any(t.tx_hash == tx.tx_hash for t in self.pool.values()):
            raise RpcError("eth_sendRawTransaction", -32003, "already known")
        if tx.nonce < self.nonces()[tx.sender]:
            raise RpcError("eth_sendRawTransaction", -32003, "nonce too low")
        old = self.pool.get((tx.sender, tx.nonce))
        if old is not None and (
            tx.max_fee * 10 < old.max_fee * 11 or tx.priority_fee * 10 < old.priority_fee * 11
        ):
            raise RpcError("eth_sendRawTransaction", -32003, "replacement transaction underpriced")
        self.pool[(tx.sender, tx.nonce)] = tx
        if self.automine:
            self.mine(1)
        return tx.tx_hash

    def receipts(self, tx_hashes: list[str]) -> dict[str, Receipt]:
        wanted = set(tx_hashes)
        found: dict[str, Receipt] = {}
        for block in self.blocks:
            for tx, status in block.txs:
                if tx.tx_hash in wanted:
                    found[tx.tx_hash] = Receipt(
                        tx.tx_hash, status, block.number, block.block_hash, 21_000
                    )
        return found

    def call(self, to: str, data: str) -> bytes:
        raw = bytes.fromhex(data.removeprefix("0x"))
        if raw[:4] == _EXECUTED:
            (batch_id,) = decode(["uint256"], raw[4:])
            return encode(["bool"], [batch_id in self.executed_ids()])
        if raw[:4] == _BALANCE_OF:
            (holder,) = decode(["address"], raw[4:])
            return encode(["uint256"], [self.balances()[holder.lower()]])
        raise RpcError("eth_call", -32000, "execution reverted: unknown function")

    def request(self, method: str, *params: Any) -> Any:
        if method == "eth_chainId":
            return hex(self._chain_id)
        if method == "eth_blockNumber":
            return hex(self.block_number())
        if method in ("anvil_mine", "evm_mine"):
            self.mine(int(params[0], 16) if params else 1)
            return None
        if method == "anvil_reorg":
            self.reorg(int(params[0]))
            return None
        raise RpcError(method, -32601, f"the method {method} does not exist/is not available")


def decode_signed(raw_tx: str, chain_id: int) -> FakeTx:
    """Decode and authenticate an EIP-1559 raw transaction."""
    raw = HexBytes(raw_tx)
    fields = TypedTransaction.from_bytes(raw).as_dict()
    if fields["chainId"] != chain_id:
        raise RpcError("eth_sendRawTransaction", -32000, "invalid chain id")
    to = fields.get("to")
    return FakeTx(
        tx_hash="0x" + keccak(bytes(raw)).hex(),
        sender=Account.recover_transaction(bytes(raw)).lower(),
        nonce=int(fields["nonce"]),
        to="0x" + bytes(to).hex() if to else None,
        data=bytes(fields["data"]),
        max_fee=int(fields["maxFeePerGas"]),
        priority_fee=int(fields["maxPriorityFeePerGas"]),
    )


def _decode_payout(data: bytes) -> tuple[int, int, list[bytes]]:
    batch_id, total, words = decode(["uint256", "uint256", "bytes32[]"], data[4:])
    return int(batch_id), int(total), list(words)
