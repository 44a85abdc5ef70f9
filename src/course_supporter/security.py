"""Security headers for every response; a cap on request bodies and no NUL in JSON text."""

from __future__ import annotations

import json
import re
from email.message import Message as EmailMessage
from typing import Any

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

NUL_MESSAGE = "NUL characters (\\u0000) are not allowed in text"


def security_headers(settings: Settings) -> list[tuple[bytes, bytes]]:
    return [*_STATIC_HEADERS, *([_HSTS] if settings.is_production else [])]


class BodyLimitMiddleware:
    """Reads every body up to the JSON cap (413 past it, chunked or not) and refuses NUL in
    any JSON string with a 422, before an endpoint sees it. Only non-JSON bodies on the
    `uncapped` paths (multipart uploads, which stream and cap themselves) and every body on
    the `raw` paths (signed direct uploads: never parsed, capped by their signed length)
    pass untouched.

    PostgreSQL cannot store NUL in text or JSONB while SQLite can: refusing it here keeps
    every field of every endpoint, present and future, the same on both databases.
    """

    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        uncapped: list[str],
        raw: list[str],
        larger: list[tuple[str, int]] | None = None,
    ) -> None:
        self.app = app
        self.max_body = settings.max_json_body_bytes
        self.uncapped = [re.compile(pattern) for pattern in uncapped]
        self.raw = [re.compile(pattern) for pattern in raw]
        # Paths whose JSON is bigger by nature (a class's answers), each with its own cap.
        self.larger = [(re.compile(pattern), limit) for pattern, limit in larger or []]

    def _cap(self, path: str) -> int:
        return next((limit for p, limit in self.larger if p.fullmatch(path)), self.max_body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_type = _header(scope, b"content-type")
        is_json = is_json_content_type(content_type)
        streams = not is_json and any(p.fullmatch(scope["path"]) for p in self.uncapped)
        if streams or any(p.fullmatch(scope["path"]) for p in self.raw):
            await self.app(scope, receive, send)
            return
        cap = self._cap(scope["path"]) if self.larger else self.max_body
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            await _too_large(send, cap, scope)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client left before sending the body; the app sees the disconnect.
                await self.app(scope, _replay(message, receive), send)
                return
            body += message.get("body", b"")
            if len(body) > cap:
                await _too_large(send, cap, scope)
                return
            if not message.get("more_body", False):
                break
        if is_json and (where := nul_location(bytes(body))) is not None:
            detail = [{"loc": ["body", *where], "msg": NUL_MESSAGE, "type": "string_nul"}]
            await send_error(send, 422, detail, _request_id(scope))
            return
        whole: Message = {"type": "http.request", "body": bytes(body), "more_body": False}
        await self.app(scope, _replay(whole, receive), send)


def is_json_content_type(value: str | None) -> bool:
    """The bodies FastAPI parses as JSON: no content type, `application/json` or `+json`."""
    if not value:
        return True
    message = EmailMessage()
    message["content-type"] = value
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def nul_location(body: bytes) -> list[str | int] | None:
    """Where the first NUL sits in a JSON document (a key or a string value), or None.

    JSON can only carry NUL as the escape `\\u0000` (or as NUL bytes of a UTF-16/32
    encoding); without either the document cannot contain one and is not parsed here.
    Unparseable bodies are left to the endpoint's own validation.
    """
    if b"\\u0000" not in body and b"\x00" not in body:
        return None
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    stack: list[tuple[list[str | int], Any]] = [([], document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return path
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    return [*path, key]
                stack.append(([*path, key], item))
        elif isinstance(value, list):
            stack.extend(([*path, index], item) for index, item in enumerate(value))
    return None


def _replay(first: Message, receive: Receive) -> Receive:
    """A receive that hands over `first`, then whatever the client sends next (disconnect)."""
    pending: list[Message] = [first]

    async def replayed() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replayed


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _request_id(scope: Scope) -> str | None:
    request_id: str | None = scope.get("state", {}).get("request_id")
    return request_id


async def _too_large(send: Send, limit: int, scope: Scope) -> None:
    await send_error(send, 413, f"Request body larger than {limit} bytes", _request_id(scope))
