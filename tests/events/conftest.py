"""Helpers for event tests: an app with fast events and jobs, SSE parsing, a webhook receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ApiClient
from tests.jobs.conftest import embedded_client

FAST_EVENTS: dict[str, object] = {
    "job_progress_interval_seconds": 0,
    "events_keepalive_seconds": 0.2,
    "events_poll_interval_seconds": 0.2,
    "events_stream_max_seconds": 1.0,
    "webhook_allow_loopback": True,
    "webhook_retry_base_seconds": 0.05,
    "webhook_retry_max_seconds": 0.2,
    "webhook_retry_window_seconds": 60.0,
}


@pytest.fixture
async def events_client(database_url: str, tmp_path: Path) -> AsyncIterator[ApiClient]:
    async with embedded_client(database_url, tmp_path, **FAST_EVENTS) as client:
        yield client


@dataclass(frozen=True)
class StreamedEvent:
    id: int
    type: str
    data: dict[str, Any]


@dataclass
class ParsedStream:
    events: list[StreamedEvent] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    retry: int | None = None


def parse_stream(text: str) -> ParsedStream:
    """Server-Sent Events text → its events, comments and retry hint."""
    parsed = ParsedStream()
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if line.startswith(":"):
                parsed.comments.append(line[1:].strip())
            elif ":" in line:
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
        if "retry" in fields:
            parsed.retry = int(fields["retry"])
        if "data" in fields:
            parsed.events.append(
                StreamedEvent(int(fields["id"]), fields["event"], json.loads(fields["data"]))
            )
    return parsed


@dataclass
class Receiver:
    """A real HTTP server on loopback that records webhook POSTs and answers `status`."""

    url: str
    status: int = 204
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(state.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"no")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
