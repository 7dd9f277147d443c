"""`hyperbrick bench credits`: earned-credit writes per second, one period for every node.

Governance credits every node once per period. Rows compare `credit_contributions` (one ledger
transaction for the whole period) with one `credit_contribution` transaction per node, on a fresh
SQLite ledger (or the database given with `--database-url`). The replay row credits the same
period again: every key is found and nothing moves.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `bench credits` (heavy imports happen in the handler)."""
    parser = subparsers.add_parser("credits", help="earned-credit ledger writes per second")
    parser.add_argument(
        "--nodes", type=int, nargs="+", default=[1_000, 10_000], help="nodes credited per period"
    )
    parser.add_argument(
        "--single-cap",
        type=int,
        default=2_000,
        help="nodes credited one transaction at a time (the slow baseline row)",
    )
    parser.add_argument("--database-url", default=None, help="ledger URL (default: temp SQLite)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def _ledger(url: str | None, tmp: str, name: str) -> Any:
    from settlement.ledger import open_ledger

    return open_ledger(url or f"sqlite:///{tmp}/{name}.db")


def measure(nodes: int, single_cap: int, url: str | None, tmp: str) -> list[dict[str, Any]]:
    """Rows for one network size: batch, replayed batch, and one transaction per node."""
    from settlement.economics.params import PPM
    from settlement.tokens.earn import (
        ContributionReport,
        credit_contribution,
        credit_contributions,
    )
    from settlement.tokens.wiring import LedgerCredits

    # A fresh period per size keeps a shared --database-url from replaying earlier rows.
    period = time.time_ns()
    addresses = ["0x" + f"{i:040x}" for i in range(1, nodes + 1)]
    reports = [ContributionReport(a, period, 4, PPM) for a in addresses]
    rows = []
    ledger = _ledger(url, tmp, f"batch-{nodes}")
    try:
        credits = LedgerCredits(ledger)
        for path in ("batch", "batch replay"):
            start = time.perf_counter()
            wei = credit_contributions(credits, reports)
            rows.append(_row(path, nodes, nodes, time.perf_counter() - start, wei))
        if rows[-1]["wei"] != "0":
            raise AssertionError("a replayed period credited again")
    finally:
        ledger.close()
    single = reports[: min(nodes, single_cap)]
    ledger = _ledger(url, tmp, f"single-{nodes}")
    try:
        credits = LedgerCredits(ledger)
        start = time.perf_counter()
        wei = sum(credit_contribution(credits, r) for r in single)
        rows.append(_row("one per node", nodes, len(single), time.perf_counter() - start, wei))
    finally:
        ledger.close()
    return rows


def _row(path: str, nodes: int, credited: int, seconds: float, wei: int) -> dict[str, Any]:
    return {
        "path": path,
        "nodes": nodes,
        "credited": credited,
        "credits_per_s": credited / seconds,
        "seconds": seconds,
        "wei": str(wei),
    }


def run(args: argparse.Namespace) -> int:
    """Run every size; print a table or one JSON object."""
    import tempfile

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="hb-credits-") as tmp:
        for nodes in args.nodes:
            rows.extend(measure(nodes, args.single_cap, args.database_url, tmp))
    if args.json:
        print(json.dumps({"benchmark": "credits", "results": rows}))
        return 0
    print(f"{'nodes':>8} {'path':>14} {'credited':>9} {'credits/s':>11} {'seconds':>8}")
    for r in rows:
        print(
            f"{r['nodes']:>8,} {r['path']:>14} {r['credited']:>9,} "
            f"{r['credits_per_s']:>11,.0f} {r['seconds']:>8.2f}"
        )
    return 0
