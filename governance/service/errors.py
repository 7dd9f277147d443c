"""The one place where exceptions become HTTP responses: a stable code, a sentence, no traceback."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from governance.errors import GovernanceError, InvalidParamsError
from governance.service.identity import IdentityError, InvalidAddressError
from governance.service.state import ConflictError, UnknownNodeError, UnknownServiceError

logger = logging.getLogger(__name__)

# Most specific first: the first matching class decides the status.
_STATUS: tuple[tuple[type[Exception], int, str], ...] = (
    (IdentityError, 401, "unauthenticated"),
    (UnknownNodeError, 404, "unknown_node"),
    (UnknownServiceError, 404, "unknown_service"),
    (ConflictError, 409, "conflict"),
    (InvalidAddressError, 422, "invalid_address"),
    (InvalidParamsError, 422, "invalid_params"),
    (GovernanceError, 400, "bad_request"),
)


def error_response(status: int, code: str, detail: str) -> JSONResponse:
    """Build the JSON body every error shares."""
    return JSONResponse(status_code=status, content={"error": code, "detail": detail})


async def _governance_error(_: Request, error: Exception) -> JSONResponse:
    for cls, status, code in _STATUS:
        if isinstance(error, cls):
            return error_response(status, code, str(error))
    return error_response(400, "bad_request", str(error))


async def _validation_error(_: Request, error: Exception) -> JSONResponse:
    items = error.errors() if isinstance(error, RequestValidationError) else []
    parts = []
    for item in items:
        where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
        parts.append(f"{where}: {item.get('msg', 'invalid')}")
    return error_response(422, "invalid_request", "; ".join(parts) or "invalid request")


async def _unexpected(_: Request, error: Exception) -> JSONResponse:
    # A bug, not a user mistake: log the traceback here, answer without it.
    logger.exception("unhandled error", exc_info=error)
    return error_response(500, "internal_error", "internal error; the operator has the details")


def install_error_handlers(app: FastAPI) -> None:
    """Register the mapping on an app."""
    app.add_exception_handler(GovernanceError, _governance_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
