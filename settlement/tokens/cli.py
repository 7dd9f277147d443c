"""`hyperbrick tokens issue | refresh | revoke | balance | watch-deposits` from a shell.

Tokens are read from an argument or, with `-`, from stdin (so they need not appear in `ps`). The
database is the ledger's (`--db` or HYPERBRICK_LEDGER_DATABASE_URL); keys come from
HYPERBRICK_TOKENS_*; chain settings for `balance` from HYPERBRICK_BALANCES_* or the flags.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from settlement.errors import FatalSettlementError


class TokenCommandError(FatalSettlementError, ValueError):
    """Bad settings or arguments of a `tokens` command (printed as one line, exit 2)."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `tokens` command and its sub-commands."""
    parser = subparsers.add_parser("tokens", help="issue, refresh, revoke API tokens; balances")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="ledger database URL (default: HYPERBRICK_LEDGER_*)")

    issue = actions.add_parser("issue", parents=[common], help="issue a token")
    issue.add_argument("--subject", required=True, help="0x address of the holder")
    issue.add_argument("--scope", action="append", required=True, help="repeat for each scope")
    issue.add_argument("--lifetime-s", type=int, default=None)
    issue.add_argument("--quota-per-min", type=int, default=0, help="0 = no quota")
    issue.set_defaults(handler=_issue)

    refresh = actions.add_parser("refresh", parents=[common], help="refresh a token")
    refresh.add_argument("token", help="the token, or - to read it from stdin")
    refresh.set_defaults(handler=_refresh)

    revoke = actions.add_parser("revoke", parents=[common], help="revoke tokens")
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("--token", help="the token, or - to read it from stdin")
    which.add_argument("--token-id", help="32 hex characters")
    which.add_argument("--subject", help="revoke every token of this address issued until now")
    revoke.add_argument("--reason", default="revoked by operator")
    revoke.set_defaults(handler=_revoke)

    watch = actions.add_parser(
        "watch-deposits", parents=[common], help="credit confirmed escrow deposits (buy)"
    )
    watch.add_argument("--rpc-url", required=True)
    watch.add_argument("--escrow-address", required=True, help="the settlement/escrow contract")
    watch.add_argument("--confirmations", type=int, default=12, help="blocks before crediting")
    watch.add_argument(
        "--from-block", type=int, default=0,
        help="first block to scan (a later stored cursor wins unless --rescan)",
    )  # fmt: skip
    watch.add_argument(
        "--rescan", action="store_true",
        help="start at --from-block even if an earlier run got further (credits stay once)",
    )  # fmt: skip
    watch.add_argument("--interval-s", type=float, default=5.0)
    watch.add_argument("--once", action="store_true", help="scan once and exit")
    watch.set_defaults(handler=_watch_deposits)

    balance = actions.add_parser("balance", parents=[common], help="balances of an address")
    balance.add_argument("address")
    balance.add_argument("--rpc-url", help="JSON-RPC node (else HYPERBRICK_BALANCES_RPC_URL)")
    balance.add_argument("--token-address")
    balance.add_argument("--escrow-address")
    balance.set_defaults(handler=_balance)


def _read_token(value: str) -> str:
    return sys.stdin.readline().strip() if value == "-" else value.strip()


def _settings(factory: Any, **overrides: Any) -> Any:
    from pydantic import ValidationError

    try:
        return factory(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise TokenCommandError(f"invalid settings: {problems}") from None


def _service(args: argparse.Namespace) -> Any:
    from settlement.tokens.settings import TokenSettings
    from settlement.tokens.wiring import open_token_service

    return open_token_service(_settings(TokenSettings), database_url=args.db)


def _print_token(issued: Any) -> None:
    print(json.dumps(issued.document()))


def _issue(args: argparse.Namespace) -> int:
    service, ledger = _service(args)
    try:
        scopes = [part for value in args.scope for part in value.split(",") if part]
        _print_token(service.issue(args.subject, scopes, args.lifetime_s, args.quota_per_min))
    finally:
        ledger.close()
    return 0


def _refresh(args: argparse.Namespace) -> int:
    service, ledger = _service(args)
    try:
        _print_token(service.refresh(_read_token(args.token)))
    finally:
        ledger.close()
    return 0


def _revoke(args: argparse.Namespace) -> int:
    service, ledger = _service(args)
    try:
        if args.token is not None:
            claims = service.revoke_token(_read_token(args.token), args.reason)
            result: dict[str, object] = {"revoked": "token", "token_id": claims.token_id_hex}
        elif args.token_id is not None:
            service.revoke_id(args.token_id, args.reason)
            result = {"revoked": "token", "token_id": args.token_id.lower()}
        else:
            cutoff = service.revoke_subject(args.subject, args.reason)
            result = {"revoked": "subject", "subject": args.subject.lower(), "cutoff_s": cutoff}
    finally:
        ledger.close()
    print(json.dumps(result))
    return 0


def _balance(args: argparse.Namespace) -> int:
    from settlement.api.app import chain_reader
    from settlement.api.balances import BalanceView, LedgerBalances
    from settlement.api.settings import BalancesApiSettings
    from settlement.ledger.amounts import normalize_address
    from settlement.ledger.repository import open_ledger

    address = normalize_address(args.address)
    chain_flags = {"rpc_url": args.rpc_url, "token_address": args.token_address}
    chain_mode = "web3" if args.rpc_url else None
    settings = _settings(
        BalancesApiSettings,
        database_url=args.db,
        chain=chain_mode,
        escrow_address=args.escrow_address,
        **chain_flags,
    )
    reader = chain_reader(settings)
    ledger = open_ledger(settings.database_url)
    try:
        offchain = LedgerBalances(ledger.credit_balance(address), ledger.pending_payouts(address))
    finally:
        ledger.close()
    onchain = None if reader is None else reader.read(address)
    print(json.dumps(BalanceView(address, onchain, offchain, False, False).to_json()))
    return 0


def _watch_deposits(args: argparse.Namespace) -> int:
    import time

    from settlement.chain.client import JsonRpcChainClient
    from settlement.ledger.amounts import normalize_address
    from settlement.ledger.repository import open_ledger
    from settlement.tokens.deposits import DepositWatcher
    from settlement.tokens.store import SqlScanCursors, create_tables
    from settlement.tokens.wiring import LedgerCredits

    if args.confirmations < 0:
        raise TokenCommandError("--confirmations must be >= 0")
    if args.from_block < 0:
        raise TokenCommandError("--from-block must be >= 0")
    escrow = normalize_address(args.escrow_address, field="--escrow-address")
    ledger = open_ledger(args.db)
    create_tables(ledger.engine)
    client = JsonRpcChainClient(args.rpc_url)
    stored = SqlScanCursors(ledger.engine)
    try:
        chain_id = client.chain_id()
        watcher = DepositWatcher(
            client,
            LedgerCredits(ledger),
            chain_id=chain_id,
            escrow_address=escrow,
            confirmations=args.confirmations,
            from_block=args.from_block,
            cursors=stored,
            rescan=args.rescan,
        )
        while True:
            for movement in watcher.poll():
                print(json.dumps({"kind": movement.kind.value, "funder": movement.funder,
                                  "amount_wei": str(movement.amount_wei),
                                  "tx_hash": movement.tx_hash, "block": movement.block_number}),
                      flush=True)  # fmt: skip
            if args.once:
                return 0
            time.sleep(args.interval_s)
    finally:
        client.close()
        ledger.close()
