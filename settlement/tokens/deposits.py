"""Buying credit: confirmed escrow deposits on chain become off-chain credit, exactly once.

The watcher scans the settlement contract's `EscrowDeposited` and `EscrowToppedUp` logs up to
`head - confirmations` and credits the escrow's funder; `EscrowWithdrawn` (the unspent remainder
taken back after expiry) debits the funder's credit, never below zero. Every entry's idempotency
key is `buy:<chain id>:<tx hash>:<log index>` (`unbuy:` for withdrawals), so a rescan, a restart
or two watchers at once never count a log twice. With a cursor store the watcher also remembers
where it stopped, so a restart resumes there instead of rescanning from `from_block`. A reorg
deeper than `confirmations` blocks could still remove a credited deposit: choose `confirmations`
per chain as the payout side does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from eth_utils.crypto import keccak

from settlement.ledger.repository import IdempotencyConflictError, InsufficientCreditError
from settlement.tokens.ports import CreditLedger, ScanCursors

DEPOSITED = "0x" + keccak(text="EscrowDeposited(uint256,address,uint256,uint64)").hex()
TOPPED_UP = "0x" + keccak(text="EscrowToppedUp(uint256,uint256,uint256)").hex()
WITHDRAWN = "0x" + keccak(text="EscrowWithdrawn(uint256,address,uint256)").hex()
ESCROWS = keccak(text="escrows(uint256)")[:4]
MAX_BLOCKS_PER_SCAN = 2_000


class DepositKind(StrEnum):
    """What a log did to a funder's escrow."""

    DEPOSITED = "deposited"
    TOPPED_UP = "topped_up"
    WITHDRAWN = "withdrawn"


class DepositChain(Protocol):
    """The chain calls the watcher needs (`settlement.chain.client.JsonRpcChainClient` fits)."""

    def block_number(self) -> int: ...

    def call(self, to: str, data: str) -> bytes: ...

    def request(self, method: str, *params: Any) -> Any: ...


@dataclass(frozen=True, slots=True)
class EscrowMovement:
    """One confirmed escrow log, decoded."""

    kind: DepositKind
    escrow_id: int
    funder: str
    amount_wei: int
    block_number: int
    tx_hash: str
    log_index: int


def _word(data: bytes, index: int) -> int:
    return int.from_bytes(data[32 * index : 32 * index + 32], "big")


class DepositWatcher:
    """Turns confirmed escrow logs of one contract into ledger credit; `poll()` is re-entrant."""

    def __init__(
        self,
        chain: DepositChain,
        credits: CreditLedger,
        *,
        chain_id: int,
        escrow_address: str,
        confirmations: int,
        from_block: int = 0,
        cursors: ScanCursors | None = None,
        rescan: bool = False,
    ) -> None:
        self.chain = chain
        self.credits = credits
        self.chain_id = chain_id
        self.escrow = escrow_address.lower()
        self.confirmations = confirmations
        # With ``cursors``, a restart resumes after the last applied chunk (never before
        # ``from_block``) unless ``rescan``; a rescan only costs time (credits apply once).
        self.cursors = cursors
        self.cursor_name = f"deposits:{chain_id}:{self.escrow}"
        stored = cursors.get(self.cursor_name) if cursors is not None and not rescan else None
        self.next_block = from_block if stored is None else max(from_block, stored)
        self._funders: dict[int, str] = {}

    def poll(self) -> list[EscrowMovement]:
        """Scan newly confirmed blocks, apply their movements, and return what was applied."""
        safe = self.chain.block_number() - self.confirmations
        applied: list[EscrowMovement] = []
        while self.next_block <= safe:
            end = min(safe, self.next_block + MAX_BLOCKS_PER_SCAN - 1)
            for movement in self.movements(self.next_block, end):
                if self._apply(movement):
                    applied.append(movement)
            self.next_block = end + 1
            if self.cursors is not None:  # after applying: a crash before it only rescans
                self.cursors.advance(self.cursor_name, self.next_block)
        return applied

    def movements(self, first: int, last: int) -> list[EscrowMovement]:
        """Decode the escrow logs of blocks [first, last] in chain order."""
        logs: Sequence[dict[str, Any]] = self.chain.request(
            "eth_getLogs",
            {
                "address": self.escrow,
                "fromBlock": hex(first),
                "toBlock": hex(last),
                "topics": [[DEPOSITED, TOPPED_UP, WITHDRAWN]],
            },
        )
        ordered = sorted(
            logs, key=lambda log: (int(log["blockNumber"], 16), int(log["logIndex"], 16))
        )
        return [self._decode(log) for log in ordered if not log.get("removed")]

    def _decode(self, log: dict[str, Any]) -> EscrowMovement:
        topics = [str(t) for t in log["topics"]]
        data = bytes.fromhex(str(log["data"]).removeprefix("0x"))
        escrow_id = int(topics[1], 16)
        if topics[0] == DEPOSITED:
            kind, funder = DepositKind.DEPOSITED, "0x" + topics[2][-40:]
            self._funders[escrow_id] = funder
        elif topics[0] == WITHDRAWN:
            kind, funder = DepositKind.WITHDRAWN, "0x" + topics[2][-40:]
        else:
            kind, funder = DepositKind.TOPPED_UP, self._funder(escrow_id)
        return EscrowMovement(
            kind=kind,
            escrow_id=escrow_id,
            funder=funder.lower(),
            amount_wei=_word(data, 0),
            block_number=int(log["blockNumber"], 16),
            tx_hash=str(log["transactionHash"]).lower(),
            log_index=int(log["logIndex"], 16),
        )

    def _funder(self, escrow_id: int) -> str:
        if escrow_id not in self._funders:
            out = self.chain.call(
                self.escrow, "0x" + (ESCROWS + escrow_id.to_bytes(32, "big")).hex()
            )
            self._funders[escrow_id] = "0x" + out[12:32].hex()
        return self._funders[escrow_id]

    def _apply(self, movement: EscrowMovement) -> bool:
        where = f"{self.chain_id}:{movement.tx_hash}:{movement.log_index}"
        if movement.kind is not DepositKind.WITHDRAWN:
            return self.credits.credit(
                movement.funder, movement.amount_wei, f"buy:{where}", "escrow deposit"
            )
        # Credit already spent stays spent: take back at most what is left.
        amount = min(movement.amount_wei, self.credits.credit_balance(movement.funder))
        if amount == 0:
            return False
        try:
            return self.credits.debit(movement.funder, amount, f"unbuy:{where}", "escrow withdrawn")
        except InsufficientCreditError:  # spent between the read and the debit: nothing left
            return False
        except IdempotencyConflictError:  # applied before, when the credit left was different
            return False
