"""structlog set-up and the request middleware: request id, access log, last-resort 500."""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from course_supporter.config import Settings
from course_supporter.http_errors import send_error
from course_supporter.metrics import observe_request

access_log = structlog.get_logger("course_supporter.access")
log = structlog.get_logger(__name__)

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def configure_logging(settings: Settings) -> None:
    """JSON lines in production, a readable console in development; stdlib logs go the same way."""
    level = logging.getLevelName(settings.log_level.upper())
    if not isinstance(level, int):
        level = logging.INFO
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.is_production
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(),
            # Rendering locals (an upload's 1 MiB chunks) stalled the event loop for seconds.
            exception_formatter=structlog.dev.RichTracebackFormatter(show_locals=False),
        )
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if settings.is_production else _identity,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    # Our middleware writes the access line; uvicorn's would duplicate it without tenant ids.
    logging.getLogger("uvicorn.access").disabled = True


def _identity(_logger: Any, _name: str, event: Any) -> Any:
    return event


class RequestContextMiddleware:
    """Request id in and out, response headers, one access line, and crashes turned into a 500."""

    def __init__(self, app: ASGIApp, extra_headers: list[tuple[bytes, bytes]]) -> None:
        self.app = app
        self.extra_headers = extra_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()
        status_code = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status_code, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status_code = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                headers.extend(self.extra_headers)
                rate_limit_headers = state.get("rate_limit_headers")
                if rate_limit_headers:
                    headers.extend(rate_limit_headers)
                message["headers"] = headers
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled_error", path=scope["path"])
            if not response_started:
                await send_error(send_with_id, 500, "Internal server error", request_id)
        finally:
            tenant_id = state.get("tenant_id")
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            observe_request(scope["method"], route, status_code, seconds)
            access_log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status_code,
                latency_ms=round(seconds * 1000, 2),
                tenant_id=str(tenant_id) if tenant_id else None,
            )
            structlog.contextvars.unbind_contextvars("request_id")


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            return candidate if _REQUEST_ID.fullmatch(candidate) else None
    return None
