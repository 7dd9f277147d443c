"""Reconciliation: compare ledger and chain (executed batch ids, token and escrow balances).

Run it after a worker restart or on a schedule. A healthy ledger has no `final_not_executed` batch
(a payout called final that the contract never executed: money the ledger thinks it paid), no
`executed_unknown` id (the contract paid a batch the ledger does not know), and, when every token
a payee holds came through settlement, no balance mismatch.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from eth_abi.abi import encode
from eth_utils.crypto import keccak
from sqlalchemy import select

from settlement.chain.client import RpcError
from settlement.errors import FatalSettlementError
from settlement.ledger.models import Batch, Payout
from settlement.ledger.repository import Ledger
from settlement.payouts.sender import PayoutChain
from settlement.payouts.states import PayoutState

ON_CHAIN = (PayoutState.MINED, PayoutState.SEQUENCER_CONFIRMED, PayoutState.FINAL)
NOT_YET = (PayoutState.BATCHED, PayoutState.SIGNED, PayoutState.BROADCAST)
_BALANCE_OF = keccak(text="balanceOf(address)")[:4]
_ESCROWS = keccak(text="escrows(uint256)")[:4]


def _topic(signature: str) -> str:
    return "0x" + keccak(text=signature).hex()


SETTLER_PAID = _topic("SettlerPaid(uint256,address,uint256,uint256)")
ESCROW_PAID = _topic("EscrowPaid(uint256,uint256,uint256,uint256)")
ESCROW_IN = (
    _topic("EscrowDeposited(uint256,address,uint256,uint64)"),
    _topic("EscrowToppedUp(uint256,uint256,uint256)"),
)
ESCROW_OUT = _topic("EscrowWithdrawn(uint256,address,uint256)")


class BlockRangeError(FatalSettlementError, ValueError):
    """The first block to read lies beyond the chain's head."""


@dataclass(slots=True)
class ReconcileReport:
    """Differences between ledger and chain; `ok` when none is money-relevant."""

    batches_checked: int = 0
    final_not_executed: list[str] = field(default_factory=list)
    executed_not_recorded: list[str] = field(default_factory=list)
    reverted_but_executed: list[str] = field(default_factory=list)
    executed_unknown: list[str] = field(default_factory=list)
    balance_mismatches: dict[str, tuple[int, int]] = field(default_factory=dict)
    # batch key -> (ledger total, total the contract's SettlerPaid/EscrowPaid event says it paid)
    batch_total_mismatches: dict[str, tuple[int, int]] = field(default_factory=dict)
    logs_checked: bool = False
    escrow_balance_wei: int | None = None
    # deposits + top-ups - withdrawals - payouts of the escrow, from the contract's events
    escrow_expected_wei: int | None = None

    @property
    def ok(self) -> bool:
        """Return whether ledger and chain agree on every batch and balance."""
        return not (
            self.final_not_executed
            or self.reverted_but_executed
            or self.executed_unknown
            or self.balance_mismatches
            or self.batch_total_mismatches
            or self.escrow_balance_wei != self.escrow_expected_wei
        )


def reconcile(
    ledger: Ledger,
    chain: PayoutChain,
    *,
    token_address: str | None = None,
    escrow_id: int | None = None,
    probe_ids_beyond: int = 8,
    from_block: int = 0,
) -> ReconcileReport:
    """Compare the ledger's batches and payouts of `chain` with the contract and the token.

    Contract events are read from ``from_block`` on: 0 is always right, the settlement contract's
    deployment block reads less; a later block misses events and shows up as mismatches.
    """
    head = chain.client.block_number()
    if from_block > head:  # a node answers such a range with an error or nothing: say so instead
        raise BlockRangeError(f"--from-block {from_block} is beyond the chain head {head}")
    report = ReconcileReport()
    with ledger.transaction() as session:
        batches = session.execute(
            select(Batch.id, Batch.batch_key, Batch.state, Batch.total_wei).where(
                Batch.chain_id == chain.chain_id, Batch.sender == chain.sender
            )
        ).all()
        paid_rows = session.execute(
            select(Payout.payee, Payout.amount_wei)
            .join(Batch, Batch.id == Payout.batch_id)
            .where(Batch.chain_id == chain.chain_id, Batch.state.in_([str(s) for s in ON_CHAIN]))
        ).all()
    known = {int(key, 16) for _, key, _, _ in batches}
    for _, key, state, _ in batches:
        report.batches_checked += 1
        executed = chain.batch_executed(key)
        if state in ON_CHAIN and not executed:
            report.final_not_executed.append(key)
        elif state in NOT_YET and executed:
            report.executed_not_recorded.append(key)  # the confirmer has not caught up yet
        elif state == PayoutState.REVERTED and executed:
            report.reverted_but_executed.append(key)
    top = max(known, default=0)
    for candidate in range(1, top + probe_ids_beyond + 1):
        key = f"0x{candidate:064x}"
        if candidate not in known and chain.batch_executed(key):
            report.executed_unknown.append(key)
    if token_address is not None:
        paid: dict[str, int] = defaultdict(int)
        for payee, amount in paid_rows:
            paid[payee] += amount
        for payee, expected in sorted(paid.items()):
            actual = _uint(chain, token_address, _BALANCE_OF + encode(["address"], [payee]))
            if actual != expected:
                report.balance_mismatches[payee] = (expected, actual)
    logs = _settlement_logs(chain, from_block)
    if logs is not None:
        report.logs_checked = True
        _check_batch_totals(report, logs, [(k, s, t) for _, k, s, t in batches])
    if escrow_id is not None:
        data = _ESCROWS + encode(["uint256"], [escrow_id])
        raw = chain.client.call(chain.settlement_address, "0x" + data.hex())
        report.escrow_balance_wei = int.from_bytes(raw[32:64], "big")
        report.escrow_expected_wei = _escrow_flow(logs or [], escrow_id)
    return report


def _settlement_logs(chain: PayoutChain, from_block: int) -> list[dict[str, Any]] | None:
    """Return every event of the settlement contract, or None where the node serves no logs."""
    try:
        logs = chain.client.request(
            "eth_getLogs",
            {
                "address": chain.settlement_address,
                "fromBlock": hex(from_block),
                "toBlock": "latest",
            },
        )
    except RpcError:
        return None
    return list(logs)


def _word(log: dict[str, Any], index: int) -> int:
    data = str(log["data"]).removeprefix("0x")
    return int(data[64 * index : 64 * (index + 1)], 16)


def _check_batch_totals(
    report: ReconcileReport, logs: list[dict[str, Any]], batches: list[tuple[str, str, int]]
) -> None:
    paid: dict[int, int] = {}
    for log in logs:
        topics = log["topics"]
        if topics[0] == SETTLER_PAID:
            paid[int(topics[1], 16)] = _word(log, 0)
        elif topics[0] == ESCROW_PAID:
            paid[int(topics[2], 16)] = _word(log, 0)
    for key, state, total in batches:
        if state in ON_CHAIN and paid.get(int(key, 16)) != total:
            report.batch_total_mismatches[key] = (total, paid.get(int(key, 16), 0))


def _escrow_flow(logs: list[dict[str, Any]], escrow_id: int) -> int:
    balance = 0
    for log in logs:
        topics = log["topics"]
        if len(topics) < 2 or int(topics[1], 16) != escrow_id:
            continue
        if topics[0] in ESCROW_IN:
            balance += _word(log, 0)
        elif topics[0] in (ESCROW_OUT, ESCROW_PAID):
            balance -= _word(log, 0)
    return balance


def _uint(chain: PayoutChain, to: str, data: bytes) -> int:
    return int.from_bytes(chain.client.call(to, "0x" + data.hex())[:32], "big")
