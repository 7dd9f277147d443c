"""The one place settlement errors become HTTP responses: `{"error": code, "detail": message}`."""

from __future__ import annotations

import json

from starlette.responses import Response

from settlement.errors import RetryableSettlementError, SettlementError
from settlement.ledger.amounts import InvalidAddressError, InvalidAmountError
from settlement.ledger.repository import IdempotencyConflictError
from settlement.tokens.rules import RefreshRefusal, RefreshRefusedError
from settlement.tokens.verify import Refusal, TokenRefusedError


class MissingCredentialsError(TokenRefusedError):
    """No `Authorization: Bearer <token>` header."""

    def __init__(self) -> None:
        super().__init__(Refusal.MALFORMED, "send Authorization: Bearer <token>")


class QuotaExceededError(SettlementError, PermissionError):
    """The token used up its per-minute request quota."""


class SourceUnavailableError(RetryableSettlementError, ConnectionError):
    """The chain or the ledger did not answer in time and no cached reading exists."""


def json_error(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None
) -> Response:
    """Return the project's JSON error body with `status`."""
    body = json.dumps({"error": code, "detail": detail}).encode()
    return Response(body, status_code=status, media_type="application/json", headers=headers)


_REFRESH_STATUS = {RefreshRefusal.NO_CREDIT: 402, RefreshRefusal.ALREADY_REFRESHED: 409}


def error_response(error: SettlementError) -> Response:
    """Map a settlement error to its HTTP status and JSON body (never a 500 for bad input)."""
    if isinstance(error, MissingCredentialsError):
        return json_error(401, "missing_token", str(error), {"WWW-Authenticate": "Bearer"})
    if isinstance(error, TokenRefusedError):
        status = 403 if error.reason is Refusal.WRONG_SCOPE else 401
        headers = {"WWW-Authenticate": f'Bearer error="{error.reason.value}"'}
        return json_error(status, f"token_{error.reason.value}", str(error), headers)
    if isinstance(error, RefreshRefusedError):
        status = _REFRESH_STATUS.get(error.reason, 403)
        return json_error(status, f"refresh_{error.reason.value}", str(error))
    if isinstance(error, QuotaExceededError):
        return json_error(429, "quota_exceeded", str(error), {"Retry-After": "60"})
    if isinstance(error, InvalidAddressError):
        return json_error(400, "invalid_address", str(error))
    if isinstance(error, InvalidAmountError):
        return json_error(400, "invalid_amount", str(error))
    if isinstance(error, IdempotencyConflictError):
        return json_error(409, "idempotency_conflict", str(error))
    if isinstance(error, SourceUnavailableError):
        return json_error(503, "source_unavailable", str(error), {"Retry-After": "1"})
    if isinstance(error, RetryableSettlementError):
        return json_error(503, "unavailable", str(error), {"Retry-After": "1"})
    return json_error(400, "bad_request", str(error))
