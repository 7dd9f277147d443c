"""`hyperbrick settle run | reconcile | trace`: the settlement worker and its audit tools.

Configuration comes from the environment (`HYPERBRICK_SETTLE_*`, see `SettleSettings`); the settler
key is read from the variable `HYPERBRICK_SETTLE_KEY_ENV` names (default `HYPERBRICK_SETTLER_KEY`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any


def register(subparsers: Any) -> None:
    """Add the `settle` command with its sub-commands."""
    parser = subparsers.add_parser("settle", help="run the settlement worker and audit payouts")
    actions = parser.add_subparsers(dest="settle_action", required=True, metavar="ACTION")
    run = actions.add_parser("run", help="net usage, batch, send and confirm payouts")
    run.add_argument("--until-idle", action="store_true", help="stop when nothing is owed")
    run.add_argument("--timeout-s", type=float, default=None)
    run.add_argument(
        "--up-to-period", type=int, default=None,
        help="settle only usage of periods <= N (default: everything metered so far)",
    )  # fmt: skip
    run.set_defaults(handler=_run)
    audit = actions.add_parser("reconcile", help="compare the ledger with the chain")
    audit.add_argument("--token", default=None, help="token address to check balances against")
    audit.add_argument(
        "--from-block", type=_block_number, default=0,
        help="first block of the contract's events to read (default 0, always right; the "
        "settlement contract's deployment block from deployments/<chain-id>.json reads less)",
    )  # fmt: skip
    audit.set_defaults(handler=_reconcile)
    trace = actions.add_parser("trace", help="follow a usage event to its on-chain transfer")
    trace.add_argument("idempotency_key")
    trace.add_argument("--database-url", default=None)
    trace.set_defaults(handler=_trace)


def _block_number(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a block number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a block number is >= 0, not {value}")
    return value


def _run(args: argparse.Namespace) -> int:
    from settlement.payouts.config import SettleSettings
    from settlement.payouts.worker import build_worker

    settings = SettleSettings()
    worker = build_worker(settings)
    worker.net_up_to_period = args.up_to_period
    try:
        ticks = worker.run(
            until_idle=args.until_idle,
            poll_interval_s=settings.poll_interval_s,
            timeout_s=args.timeout_s,
        )
    finally:
        worker.close()
    print(json.dumps({"ticks": ticks, "outstanding": 0}))
    return 0


def _reconcile(args: argparse.Namespace) -> int:
    from settlement.payouts.config import SettleSettings
    from settlement.payouts.reconcile import reconcile
    from settlement.payouts.worker import build_worker

    settings = SettleSettings()
    worker = build_worker(settings)
    try:
        report = reconcile(
            worker.ledger,
            worker.chain,
            token_address=args.token,
            escrow_id=settings.escrow_id,
            from_block=args.from_block,
        )
    finally:
        worker.close()
    document = dataclasses.asdict(report)
    # JSON carries wei as decimal strings.
    for name in ("balance_mismatches", "batch_total_mismatches"):
        document[name] = {k: [str(v[0]), str(v[1])] for k, v in getattr(report, name).items()}
    for name in ("escrow_balance_wei", "escrow_expected_wei"):
        if document[name] is not None:
            document[name] = str(document[name])
    document["ok"] = report.ok
    document["from_block"] = args.from_block
    print(json.dumps(document, indent=2))
    return 0 if report.ok else 1


def _trace(args: argparse.Namespace) -> int:
    from settlement.ledger import open_ledger
    from settlement.payouts.config import SettleSettings

    ledger = open_ledger(args.database_url or SettleSettings().database_url)
    try:
        trace = ledger.usage_trace(args.idempotency_key)
    finally:
        ledger.close()
    document = dataclasses.asdict(trace)
    for key in ("amount_wei", "payout_amount_wei"):
        if document[key] is not None:
            document[key] = str(document[key])  # JSON carries wei as decimal strings
    print(json.dumps(document, indent=2))
    return 0
