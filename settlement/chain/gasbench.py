"""`hyperbrick bench gas`: gas per payee of packed batch payouts on a fresh local anvil.

Batches of 1, 10, 100 and 500 payees, to new holders (balance slot zero before) and to existing
ones, through the escrow (`payout`) and the settler's own balance (`payoutFromSettler`), plus the
largest batch under the 16,777,216 per-transaction gas cap (anvil runs with
--enable-tx-gas-limit). Batch ids are sequential and their bitmap word is already in use (the
steady state): the first batch of every 256 ids pays ~17k gas more to start a new word.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from typing import Any

BATCH_SIZES = (1, 10, 100, 500)
AMOUNT_WEI = 10**18
TARGET_GAS_PER_PAYEE = {"existing": 7_600, "new": 24_700}
TARGET_PAYEES = 500
SEARCH_MAX_PAYEES = 4_096


@dataclass(frozen=True, slots=True)
class GasRow:
    """One measured batch."""

    payees: int
    holders: str  # "new" | "existing"
    gas_per_payee: int
    path: str  # "escrow" | "settler" | "escrow-max-under-cap"
    gas_used: int


def register(targets: Any) -> None:
    """Add `bench gas`."""
    parser = targets.add_parser("gas", help="gas per payee of batch payouts on local anvil")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from settlement.chain.anvil import Anvil

    with Anvil() as node:
        rows = measure(node.rpc_url)
    if args.json:
        print(json.dumps({"benchmark": "gas", "results": [asdict(r) for r in rows]}))
    else:
        print(f"{'payees':>7} {'holders':>9} {'path':>21} {'gas/payee':>10} {'gas used':>11}")
        for row in rows:
            print(
                f"{row.payees:>7} {row.holders:>9} {row.path:>21} "
                f"{row.gas_per_payee:>10,} {row.gas_used:>11,}"
            )
    return 0


def measure(rpc_url: str) -> list[GasRow]:
    """Deploy on the (fresh) chain at `rpc_url` and measure every row."""
    from settlement.chain.gasbench_run import GasBench

    bench = GasBench.start(rpc_url)
    rows: list[GasRow] = []
    for path in ("escrow", "settler"):
        for payees in BATCH_SIZES:
            addresses = bench.fresh_payees(payees)
            for holders in ("new", "existing"):
                gas = bench.pay(path, addresses)
                rows.append(GasRow(payees, holders, gas // payees, path, gas))
    for holders in ("new", "existing"):
        payees, gas = bench.largest_batch(holders, SEARCH_MAX_PAYEES)
        rows.append(GasRow(payees, holders, gas // payees, "escrow-max-under-cap", gas))
    return rows
