"""The router against a real chat-completions server: fallback down the chain, all recorded."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from pydantic import BaseModel

from course_supporter.config import Settings
from course_supporter.llm.registry import ModelRegistry
from course_supporter.llm.router import CallLog, CallScope, LLMRouter, NoModelSucceeded
from course_supporter.llm.strategy import Strategy
from tests.chat_server import Behaviour, ChatServer


class Answer(BaseModel):
    summary: str
    points: list[int]


def failing_then_working(server: ChatServer) -> None:
    server.behaviours["model-500"] = Behaviour(status=500)
    server.behaviours["model-bad-json"] = Behaviour(
        arguments='{"summary": "unterminated', prompt_tokens=100, completion_tokens=20
    )
    server.behaviours["model-good"] = Behaviour(
        arguments=json.dumps({"summary": "ok", "points": [1, 2]}),
        prompt_tokens=1200,
        completion_tokens=300,
    )


async def test_chain_falls_back_past_http_error_and_invalid_output(
    chat_server: ChatServer, wire_settings: Settings
) -> None:
    failing_then_working(chat_server)
    log = CallLog()
    router = LLMRouter(ModelRegistry.load(wire_settings.models_config), wire_settings, log)
    scope = CallScope("course_structuring", Strategy.DEFAULT, "architect-v1")

    routed = await router.run(scope, Answer, system_prompt="Be brief.", user_prompt="Summarise.")

    assert routed.output == Answer(summary="ok", points=[1, 2])
    assert routed.model.id == "working"
    # The keyless Anthropic model is skipped; the bad-JSON model gets one output retry.
    assert chat_server.models_called == [
        "model-500",
        "model-bad-json",
        "model-bad-json",
        "model-good",
    ]
    assert [(c.model_id, c.success) for c in log.calls] == [
        ("broken", False),
        ("garbled", False),
        ("working", True),
    ]
    broken, garbled, working = log.calls
    assert (broken.tokens_in, broken.tokens_out, broken.cost_usd) == (0, 0, Decimal(0))
    assert broken.error_message and "500" in broken.error_message
    assert (garbled.tokens_in, garbled.tokens_out) == (200, 40)
    assert garbled.cost_usd == Decimal("0.00084")  # 200 * 3.00/M + 40 * 6.00/M
    assert garbled.error_message
    assert (working.tokens_in, working.tokens_out) == (1200, 300)
    assert working.cost_usd == Decimal("0.00105")  # 1200 * 0.50/M + 300 * 1.50/M
    assert routed.cost_usd == working.cost_usd
    assert all(c.provider == "openai_compatible" for c in log.calls)
    assert all(c.prompt_version == "architect-v1" and c.strategy == "default" for c in log.calls)
    assert all(c.latency_ms >= 0 and c.error_message is None for c in log.calls[2:])


async def test_every_model_failing_raises_with_each_error(
    chat_server: ChatServer, wire_settings: Settings
) -> None:
    chat_server.behaviours["model-500"] = Behaviour(status=500)
    chat_server.behaviours["model-bad-json"] = Behaviour(arguments="not json at all")
    chat_server.behaviours["model-good"] = Behaviour(status=503)
    log = CallLog()
    router = LLMRouter(ModelRegistry.load(wire_settings.models_config), wire_settings, log)

    with pytest.raises(NoModelSucceeded) as raised:
        await router.run(
            CallScope("course_structuring"), Answer, system_prompt="s", user_prompt="u"
        )

    assert [model for model, _ in raised.value.errors] == ["broken", "garbled", "working"]
    assert [c.success for c in log.calls] == [False, False, False]


async def test_strategy_picks_its_own_chain(
    chat_server: ChatServer, wire_settings: Settings
) -> None:
    failing_then_working(chat_server)
    log = CallLog()
    router = LLMRouter(ModelRegistry.load(wire_settings.models_config), wire_settings, log)

    await router.run(
        CallScope("course_structuring", Strategy.BUDGET), Answer, system_prompt="s", user_prompt="u"
    )

    assert chat_server.models_called == ["model-good"]
    assert [c.strategy for c in log.calls] == ["budget"]
