"""The settlement APIRouter: balances, and token issue / refresh / revoke.

The router catches settlement errors itself (mapped in `errors`), so an app that mounts it needs no
extra exception handlers. Request bodies are parsed by pydantic models at this edge only.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import Response

from settlement.api.balances import BalanceService
from settlement.api.errors import (
    MissingCredentialsError,
    QuotaExceededError,
    error_response,
    json_error,
)
from settlement.errors import SettlementError
from settlement.ledger.amounts import normalize_address
from settlement.tokens.format import TokenClaims
from settlement.tokens.rules import QuotaWindows
from settlement.tokens.scopes import SCOPE_BITS, Scope
from settlement.tokens.service import TokenService

M = TypeVar("M", bound=BaseModel)
BALANCES_READ = SCOPE_BITS[Scope.BALANCES_READ]
TOKENS_ADMIN = SCOPE_BITS[Scope.TOKENS_ADMIN]
JSON = "application/json"


BALANCES_OPENAPI: dict[str, object] = {
    "parameters": [
        {"name": "address", "in": "path", "required": True, "schema": {"type": "string"}},
    ],
    "security": [{"bearer": []}],
    "responses": {
        "200": {"description": "amounts in wei as decimal strings; chain fields null if off"},
        "400": {"description": "invalid_address"},
        "401": {"description": "missing, malformed, expired or revoked token"},
        "403": {"description": "token lacks balances:read"},
        "429": {"description": "token quota used up"},
        "503": {"description": "chain or ledger did not answer and nothing is cached"},
    },
}


class IssueBody(BaseModel):
    """Body of `POST /v1/tokens`."""

    model_config = ConfigDict(extra="forbid")
    subject: str = Field(description="0x address the token is issued to")
    scopes: list[str] = Field(min_length=1)
    lifetime_s: int | None = Field(None, gt=0)
    quota_per_min: int = Field(0, ge=0, lt=2**32)


class RevokeBody(BaseModel):
    """Body of `POST /v1/tokens/revoke`: exactly one of the three."""

    model_config = ConfigDict(extra="forbid")
    token: str | None = None
    token_id: str | None = None
    subject: str | None = None
    reason: str = Field("revoked via API", max_length=200)


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization")
    if header is None or header[:7].lower() != "bearer ":
        raise MissingCredentialsError
    return header[7:].strip()


def _json(payload: object, status: int = 200) -> Response:
    return Response(json.dumps(payload).encode(), status_code=status, media_type=JSON)


async def _body(request: Request, model: type[M]) -> M | Response:
    try:
        return model.model_validate_json(await request.body())
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors()
        )
        return json_error(422, "invalid_body", problems)


class SettlementEndpoints:
    """The handlers, sharing one token service, one balance service and the quota counters."""

    def __init__(self, tokens: TokenService, balances: BalanceService) -> None:
        self.tokens = tokens
        self.balances = balances
        self.quotas = QuotaWindows()
        self._reloading = False

    async def _refresh_revocations(self) -> None:
        # The revocation set is re-read from the shared database once per cache lifetime, in a
        # worker thread; meanwhile concurrent requests keep using the previous set.
        if self._reloading or not self.tokens.revocations.due():
            return
        self._reloading = True
        try:
            await asyncio.to_thread(self.tokens.revocations.maybe_reload)
        finally:
            self._reloading = False

    async def authorize(self, request: Request, mask: int) -> TokenClaims:
        """Verify the bearer token for the scopes in `mask` and count it against its quota."""
        await self._refresh_revocations()
        claims = self.tokens.verify_mask(_bearer(request), mask, reload=False)
        if not self.quotas.admit(claims, self.tokens.clock.now()):
            raise QuotaExceededError(f"quota of {claims.quota_per_min} requests/min used up")
        return claims

    async def get_balances(self, request: Request) -> Response:
        """`GET /v1/balances/{address}` (scope `balances:read`)."""
        try:
            await self.authorize(request, BALANCES_READ)
            address = normalize_address(request.path_params["address"])
            view = await self.balances.balances(address)
        except SettlementError as error:
            return error_response(error)
        return _json(view.to_json())

    async def refresh_token(self, request: Request) -> Response:
        """`POST /v1/tokens/refresh` with the old token as bearer."""
        try:
            issued = await asyncio.to_thread(self.tokens.refresh, _bearer(request))
        except SettlementError as error:
            return error_response(error)
        return _json(issued.document(), 201)

    async def issue_token(self, request: Request) -> Response:
        """`POST /v1/tokens` (scope `tokens:admin`)."""
        try:
            await self.authorize(request, TOKENS_ADMIN)
            body = await _body(request, IssueBody)
            if not isinstance(body, IssueBody):
                return body
            issued = await asyncio.to_thread(
                self.tokens.issue, body.subject, body.scopes, body.lifetime_s, body.quota_per_min
            )
        except SettlementError as error:
            return error_response(error)
        return _json(issued.document(), 201)

    async def revoke_token(self, request: Request) -> Response:
        """`POST /v1/tokens/revoke` (scope `tokens:admin`)."""
        try:
            await self.authorize(request, TOKENS_ADMIN)
            body = await _body(request, RevokeBody)
            if not isinstance(body, RevokeBody):
                return body
            return await asyncio.to_thread(_revoke, self.tokens, body)
        except SettlementError as error:
            return error_response(error)


def settlement_router(tokens: TokenService, balances: BalanceService) -> APIRouter:
    """Build the router; `tokens` verifies bearer tokens, `balances` answers balance reads."""
    endpoints = SettlementEndpoints(tokens, balances)
    router = APIRouter(tags=["settlement"])
    # A plain Starlette route: FastAPI's per-request parameter solving costs several times the
    # whole cached balance lookup, and this is the hot read path. Documented in BALANCES_OPENAPI.
    router.add_route("/v1/balances/{address}", endpoints.get_balances, methods=["GET"])
    router.add_api_route(
        "/v1/tokens/refresh",
        endpoints.refresh_token,
        methods=["POST"],
        summary="exchange a current or recently expired token (the old token as bearer)",
    )
    router.add_api_route(
        "/v1/tokens", endpoints.issue_token, methods=["POST"], summary="issue (tokens:admin)"
    )
    router.add_api_route(
        "/v1/tokens/revoke",
        endpoints.revoke_token,
        methods=["POST"],
        summary="revoke a token, a token id or a subject (tokens:admin)",
    )
    return router


def add_balances_openapi(app: FastAPI) -> None:
    """Add the hand-written OpenAPI entry of the balances route to `app`'s schema."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        path = schema.setdefault("paths", {}).setdefault("/v1/balances/{address}", {})
        path["get"] = {"summary": "token, escrow, credit and pending payouts", **BALANCES_OPENAPI}
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _revoke(tokens: TokenService, body: RevokeBody) -> Response:
    given = [v for v in (body.token, body.token_id, body.subject) if v is not None]
    if len(given) != 1:
        return json_error(422, "invalid_body", "give exactly one of token, token_id, subject")
    if body.token is not None:
        claims = tokens.revoke_token(body.token, body.reason)
        return _json({"revoked": "token", "token_id": claims.token_id_hex})
    if body.token_id is not None:
        tokens.revoke_id(body.token_id, body.reason)
        return _json({"revoked": "token", "token_id": body.token_id.lower()})
    assert body.subject is not None  # noqa: S101 - exactly one was given
    cutoff = tokens.revoke_subject(body.subject, body.reason)
    subject = normalize_address(body.subject)
    return _json({"revoked": "subject", "subject": subject, "cutoff_s": cutoff})
