"""A small FastAPI app serving only the settlement router (tests, benchmarks, stand-alone use)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from settlement.api.balances import BalanceService, ChainBalanceReader, SimulatedChain
from settlement.api.errors import json_error
from settlement.api.routes import add_balances_openapi, settlement_router
from settlement.api.settings import BalancesApiSettings
from settlement.ledger.repository import Ledger, open_ledger
from settlement.tokens.settings import TokenSettings
from settlement.tokens.store import create_tables
from settlement.tokens.wiring import build_token_service


def chain_reader(settings: BalancesApiSettings) -> ChainBalanceReader | None:
    """Build the chain port the settings ask for (None when the chain is off)."""
    if settings.chain == "simulated":
        return SimulatedChain(settings.simulated_latency_s)
    if settings.chain == "web3":
        from settlement.api.web3_reader import Web3BalanceReader  # web3 is heavy: only if used

        assert settings.rpc_url is not None  # noqa: S101 - checked by the settings validator
        assert settings.token_address is not None  # noqa: S101
        return Web3BalanceReader(
            settings.rpc_url,
            settings.token_address,
            settings.escrow_address,
            timeout_s=settings.chain_timeout_s,
            escrow_from_block=settings.escrow_from_block,
        )
    return None


def balance_service(settings: BalancesApiSettings, ledger: Ledger) -> BalanceService:
    """Build the balance service over the ledger and the configured chain port."""
    return BalanceService(
        ledger,
        chain_reader(settings),
        chain_ttl_s=settings.chain_cache_ttl_s,
        ledger_ttl_s=settings.ledger_cache_ttl_s,
        timeout_s=settings.chain_timeout_s,
        max_entries=settings.cache_max_addresses,
    )


def create_app(
    settings: BalancesApiSettings | None = None, token_settings: TokenSettings | None = None
) -> FastAPI:
    """Build the stand-alone settlement app; settings are read here, never at import time."""
    settings = settings or BalancesApiSettings()
    token_settings = token_settings or TokenSettings()
    ledger = open_ledger(settings.database_url)
    create_tables(ledger.engine)
    tokens = build_token_service(token_settings, ledger)
    app = FastAPI(title="Hyperbrick settlement", version="1")
    app.include_router(settlement_router(tokens, balance_service(settings, ledger)))
    add_balances_openapi(app)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> Response:
        return json_error(422, "invalid_request", str(error.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> Response:
        return json_error(error.status_code, "http_error", str(error.detail))

    return app
