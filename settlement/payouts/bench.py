"""`hyperbrick bench settle`: payouts finalized per second on a local anvil, batched.

Starts its own anvil (127.0.0.1, --enable-tx-gas-limit), deploys token + settlement, meters one
usage event per brand-new payee (the costly case: every payout creates a balance slot), then times
the worker from netting to FINAL (K confirmations, blocks mined by the bench) for every payout.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

SETTLER_INDEX, ADMIN_INDEX = 1, 0


def register(subparsers: Any) -> None:
    """Add the `settle` benchmark parser."""
    parser = subparsers.add_parser("settle", help="payouts finalized per second on local anvil")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--payouts", type=int, nargs="+", default=[2_000, 10_000])
    parser.add_argument("--batch-words", type=int, default=500)
    parser.add_argument("--confirmations", type=int, default=3)
    parser.add_argument(
        "--database-url", default=None,
        help="an EMPTY ledger database (e.g. PostgreSQL); default: a fresh SQLite file",
    )  # fmt: skip
    parser.set_defaults(handler=run)


def measure(
    payouts: int, *, batch_words: int, confirmations: int, database_url: str | None = None
) -> dict[str, Any]:
    """Run one measurement on a fresh anvil and ledger; return its row."""
    from sqlalchemy import func, select

    from settlement.chain.anvil import DEV_PRIVATE_KEYS, Anvil
    from settlement.chain.client import JsonRpcChainClient
    from settlement.chain.evm import EvmPayoutChain
    from settlement.errors import FatalSettlementError
    from settlement.ledger import UsageInput, open_ledger
    from settlement.ledger.models import UsageEvent
    from settlement.payouts.devnet import deploy_dev_contracts, token_balance
    from settlement.payouts.worker import SettlementWorker

    with tempfile.TemporaryDirectory() as tmp, Anvil() as anvil:
        client = JsonRpcChainClient(anvil.rpc_url, timeout_s=30)
        settler_key = DEV_PRIVATE_KEYS[SETTLER_INDEX]
        contracts = deploy_dev_contracts(
            client, DEV_PRIVATE_KEYS[ADMIN_INDEX], settler_key, mint_wei=10**26
        )
        chain = EvmPayoutChain(
            client, chain_id=anvil.chain_id, settlement_address=contracts.settlement,
            private_key=settler_key, confirmations=confirmations,
        )  # fmt: skip
        book = open_ledger(database_url or f"sqlite:///{Path(tmp) / 'bench.db'}")
        with book.transaction() as session:
            if session.scalar(select(func.count()).select_from(UsageEvent)):
                raise FatalSettlementError(
                    "bench: the ledger database must be empty (one size per DB)"
                )
        payees = [f"0x{0x10_0000 + i:040x}" for i in range(payouts)]
        book.record_usage_many(
            UsageInput(f"bench-{i}", payee, 10**12 + i) for i, payee in enumerate(payees)
        )
        worker = SettlementWorker(book, chain, max_words=batch_words, resend_after_ms=10_000)
        ticks = 0
        start = time.perf_counter()
        while worker.outstanding():
            worker.tick()
            client.request("anvil_mine", hex(confirmations))
            ticks += 1
        elapsed_s = time.perf_counter() - start
        if token_balance(client, contracts.token, payees[-1]) != 10**12 + payouts - 1:
            raise FatalSettlementError("bench: the last payee was not paid exactly once")
        batches = client.transaction_count(chain.sender) - 1  # minus the approve()
        backend = book.engine.dialect.name
        book.close()
        client.close()
    return {
        "payouts": payouts,
        "batch_words": batch_words,
        "batches": batches,
        "confirmations": confirmations,
        "ticks": ticks,
        "elapsed_s": round(elapsed_s, 3),
        "payouts_per_s": round(payouts / elapsed_s, 1),
        "ledger": backend,
        "holders": "new",
    }


def run(args: argparse.Namespace) -> int:
    """Run the benchmark and print its rows."""
    rows = [
        measure(
            n,
            batch_words=args.batch_words,
            confirmations=args.confirmations,
            database_url=args.database_url,
        )
        for n in args.payouts
    ]
    if args.json:
        print(json.dumps({"benchmark": "settle", "results": rows}))
    else:
        for row in rows:
            print(
                f"{row['payouts']:>7} payouts in {row['batches']} batches, "
                f"K={row['confirmations']}: {row['payouts_per_s']:>10,.0f} payouts/s finalized "
                f"({row['elapsed_s']} s)"
            )
    return 0
