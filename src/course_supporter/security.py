"""Security headers for every response and a cap on request bodies."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from course_supporter.config import Settings
from course_supporter.http_errors import send_error

_STATIC_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


class BodyTooLargeError(Exception):
    pass


def security_headers(settings: Settings) -> list[tuple[bytes, bytes]]:
    return [*_STATIC_HEADERS, *([_HSTS] if settings.is_production else [])]


class BodyLimitMiddleware:
    """Refuses bodies over the JSON cap, except on paths that stream uploads themselves."""

    def __init__(self, app: ASGIApp, settings: Settings, uncapped: list[str]) -> None:
        self.app = app
        self.max_body = settings.max_json_body_bytes
        self.uncapped = [re.compile(pattern) for pattern in uncapped]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(p.fullmatch(scope["path"]) for p in self.uncapped):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            await _too_large(send, self.max_body, scope)
            return
        received = 0
        started = False

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, capped_receive, tracking_send)
        except BodyTooLargeError:
            if not started:
                await _too_large(send, self.max_body, scope)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(send: Send, limit: int, scope: Scope) -> None:
    request_id = scope.get("state", {}).get("request_id")
    await send_error(send, 413, f"Request body larger than {limit} bytes", request_id)
