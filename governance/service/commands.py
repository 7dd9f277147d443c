"""`hyperbrick serve`: run the governance service under uvicorn, settings from the environment."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `serve` command."""
    parser = subparsers.add_parser(
        "serve",
        help="run the governance network service",
        description="Run the governance service. Settings come from HYPERBRICK_GOV_* (service), "
        "HYPERBRICK_TOKENS_* and HYPERBRICK_BALANCES_* / HYPERBRICK_LEDGER_* (settlement).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    parser.add_argument(
        "--no-settlement",
        action="store_true",
        help="run without API tokens, earned credit and the balances API (signatures only)",
    )
    parser.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn
    from pydantic import ValidationError

    from governance.errors import GovernanceError
    from governance.service.app import create_app
    from governance.service.settings import ServiceSettings

    try:
        settings = ServiceSettings()
        link = None if args.no_settlement else _link()
    except ValidationError as error:
        raise GovernanceError(f"invalid settings: {_first_problem(error)}") from None
    uvicorn.run(create_app(settings, link=link), host=args.host, port=args.port)
    return 0


def _link() -> Any:
    from governance.service.settlement_link import build_settlement_link
    from settlement.api.settings import BalancesApiSettings
    from settlement.tokens.settings import TokenSettings

    return build_settlement_link(BalancesApiSettings(), TokenSettings())


def _first_problem(error: Any) -> str:
    problem = error.errors()[0]
    where = ".".join(str(p) for p in problem.get("loc", ()))
    return f"{error.title} {where}: {problem.get('msg')}".replace(" : ", ": ")
