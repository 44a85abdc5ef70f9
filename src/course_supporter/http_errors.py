"""The one error format, `{"detail": …, "request_id": …}`, and its OpenAPI declarations."""

from __future__ import annotations

import json
import re
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import Send

from course_supporter.db import is_database_unavailable
from course_supporter.errors import DomainError, InvalidInputError

log = structlog.get_logger(__name__)

# nginx's code for a client that went away mid-request; nobody reads the response.
CLIENT_CLOSED_REQUEST = 499

_DESCRIPTIONS = {
    400: "Malformed request, e.g. a body that is not UTF-8 encoded JSON",
    401: "Missing, unknown, revoked or expired API key, or inactive tenant",
    403: "The API key lacks the required scope",
    404: "Not found (or owned by another tenant)",
    409: "Conflict with the current state",
    410: "Expired",
    411: "Content-Length required",
    412: "If-Match names a state that is no longer current",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid input",
    428: "If-Match is required",
    429: "Rate limit exceeded; see Retry-After",
    503: "A dependency is unavailable",
}


class ErrorBody(BaseModel):
    detail: str | list[Any]
    request_id: str | None = None


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorBody, "description": _DESCRIPTIONS[code]} for code in codes}


def body_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """What any operation with a request body can answer: unreadable, too large, invalid."""
    return error_responses(400, 413, 422, *codes)


def request_id_of(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def error_response(
    request: Request, status_code: int, detail: Any, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"detail": jsonable_encoder(detail), "request_id": request_id_of(request)}
    return JSONResponse(body, status_code=status_code, headers=headers)


async def send_error(
    send: Send, status_code: int, detail: str | list[Any], request_id: str | None
) -> None:
    """The error format sent straight over ASGI, by middleware that runs outside FastAPI."""
    body = json.dumps({"detail": detail, "request_id": request_id}).encode()
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        allowed = _allowed_methods(request.app).get_methods(request.url.path)
        headers = {**(headers or {}), "Allow": ", ".join(allowed)}
    return error_response(request, exc.status_code, exc.detail, headers)


class _AllowedMethods:
    """Path → every method the API serves on it, from the app's own OpenAPI document (Starlette's
    405 names only the first matching route's methods: POST for /courses, which has GET too)."""

    def __init__(self, app: FastAPI) -> None:
        self._paths = [
            (re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$"),
             {method.upper() for method in operations})
            for path, operations in app.openapi()["paths"].items()
        ]  # fmt: skip

    def get_methods(self, path: str) -> list[str]:
        return sorted(
            set().union(*(methods for regex, methods in self._paths if regex.match(path)))
        )


def _allowed_methods(app: FastAPI) -> _AllowedMethods:
    cached: _AllowedMethods | None = getattr(app.state, "allowed_methods", None)
    if cached is None:
        cached = app.state.allowed_methods = _AllowedMethods(app)
    return cached


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {key: value for key, value in error.items() if key in {"loc", "msg", "type"}}
        for error in exc.errors()
    ]
    return error_response(request, 422, errors)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    if isinstance(exc, InvalidInputError):
        # Every 422 has one shape, whether Pydantic or a service refused the input.
        detail = [{"loc": list(exc.loc), "msg": exc.message, "type": "value_error"}]
        return error_response(request, exc.status_code, detail, exc.headers)
    return error_response(request, exc.status_code, exc.message, exc.headers)


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database refused, dropped or never gave a connection (or, on SQLite, stayed
    locked): the client may retry. Any other database error is a bug and stays a 500.

    asyncpg's connect raises the socket's `ConnectionError` unwrapped; storage and Redis
    errors never get here (storage raises domain errors, the rate limiter handles Redis)."""
    if not is_database_unavailable(exc):
        raise exc
    log.warning("database_unavailable", path=request.url.path, error=type(exc).__name__)
    return error_response(
        request, 503, "The database is unavailable; retry shortly", {"Retry-After": "5"}
    )


async def _client_disconnect(request: Request, exc: Exception) -> JSONResponse:
    """Expected, not an error: whatever the request had started was already rolled back."""
    log.info("client_disconnected", path=request.url.path)
    return error_response(request, CLIENT_CLOSED_REQUEST, "client disconnected")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ClientDisconnect, _client_disconnect)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(DBAPIError, _database_unavailable)
    app.add_exception_handler(PoolTimeoutError, _database_unavailable)
    app.add_exception_handler(ConnectionError, _database_unavailable)
