"""A real HTTP server speaking the OpenAI chat-completions wire format, on a random local port,
and model registries that point at it: the fake provider of every wire test (`chat_server` is a
fixture of tests/conftest.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.servers import serving, url_of


@dataclass
class Behaviour:
    """What the server answers for one model name."""

    status: int = 200
    arguments: str = "{}"
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class ChatServer:
    """The running server: its base URL, behaviour per model, and the requests it received."""

    base_url: str
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def models_called(self) -> list[str]:
        return [request["model"] for request in self.requests]


def _completion(request: dict[str, Any], behaviour: Behaviour) -> dict[str, Any]:
    tools = request.get("tools") or []
    message: dict[str, Any] = {"role": "assistant", "content": None}
    if tools:
        message["tool_calls"] = [
            {
                "id": f"call_{len(request['messages'])}",
                "type": "function",
                "function": {
                    "name": tools[0]["function"]["name"],
                    "arguments": behaviour.arguments,
                },
            }
        ]
        finish_reason = "tool_calls"
    else:
        message["content"] = behaviour.arguments
        finish_reason = "stop"
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request["model"],
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {
            "prompt_tokens": behaviour.prompt_tokens,
            "completion_tokens": behaviour.completion_tokens,
            "total_tokens": behaviour.prompt_tokens + behaviour.completion_tokens,
        },
    }


def _handler_for(server: ChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            request = json.loads(self.rfile.read(length))
            server.requests.append(request)
            behaviour = server.behaviours.get(request["model"], Behaviour(status=404))
            if behaviour.status != 200:
                body = {"error": {"message": "simulated failure", "type": "server_error"}}
            else:
                body = _completion(request, behaviour)
            payload = json.dumps(body).encode()
            self.send_response(behaviour.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@contextmanager
def running_chat_server() -> Iterator[ChatServer]:
    state = ChatServer(base_url="")
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(state))) as httpd:
        state.base_url = f"{url_of(httpd)}/v1"
        yield state


# Two models the wire tests route to: one that answers with what its Behaviour says and one
# whose output is expected to be malformed.
GARBLED_AND_WORKING = """  garbled:
    provider: openai_compatible
    model: model-bad-json
    capabilities: [structured_output]
    context_window: 100000
    max_output_tokens: 4000
    price: {input: "3.00", output: "6.00"}
  working:
    provider: openai_compatible
    model: model-good
    capabilities: [structured_output]
    context_window: 100000
    max_output_tokens: 4000
    price: {input: "0.50", output: "1.50"}
"""

MODELS_YAML = (
    """
models:
  broken:
    provider: openai_compatible
    model: model-500
    capabilities: [structured_output]
    context_window: 100000
    max_output_tokens: 4000
    price: {input: "1.00", output: "2.00"}
"""
    + GARBLED_AND_WORKING
    + """  keyless:
    provider: anthropic
    model: claude-haiku-4-5
    capabilities: [structured_output]
    context_window: 200000
    price: {input: "1.00", output: "5.00"}
actions:
  course_structuring:
    requires: [structured_output]
routing:
  course_structuring:
    default: [keyless, broken, garbled, working]
    budget: [working]
"""
)
