"""Call models through pydantic-ai down a routing chain, recording every attempt with its cost."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar
from uuid import UUID

from course_supporter.config import Settings
from course_supporter.llm.registry import ModelRegistry, ModelSpec, Provider
from course_supporter.llm.strategy import Strategy

if TYPE_CHECKING:
    # pydantic-ai takes seconds to import: the offline path and the API process never need it.
    from pydantic_ai.messages import ModelMessage
    from pydantic_ai.models import Model
    from pydantic_ai.settings import ModelSettings

OutputT = TypeVar("OutputT")
ERROR_MESSAGE_LIMIT = 1000


@dataclass(frozen=True)
class LLMCallRecord:
    """One attempt to call a model (or the offline structurer), as it goes into `llm_calls`."""

    tenant_id: UUID | None
    job_id: UUID | None
    action: str
    strategy: str
    provider: str
    model_id: str
    prompt_version: str | None
    tokens_in: int
    tokens_out: int
    latency_ms: int
    cost_usd: Decimal
    success: bool
    error_message: str | None = None


class CallRecorder(Protocol):
    """Where call records go: `llm.calls.DatabaseCallRecorder` writes them to `llm_calls`."""

    async def record(self, call: LLMCallRecord) -> None: ...


@dataclass
class CallLog:
    """A recorder that keeps records in memory, for the command line and tests."""

    calls: list[LLMCallRecord] = field(default_factory=list)

    async def record(self, call: LLMCallRecord) -> None:
        self.calls.append(call)


@dataclass(frozen=True)
class CallScope:
    """Who a call is for and why: what every record of it carries."""

    action: str
    strategy: Strategy = Strategy.DEFAULT
    prompt_version: str | None = None
    tenant_id: UUID | None = None
    job_id: UUID | None = None


@dataclass(frozen=True)
class RoutedOutput(Generic[OutputT]):
    """A validated output and the model that produced it."""

    output: OutputT
    model: ModelSpec
    tokens_in: int
    tokens_out: int
    cost_usd: Decimal


class NoModelSucceeded(RuntimeError):
    """Every model of the chain failed, or none was available."""

    def __init__(self, action: str, errors: Sequence[tuple[str, str]]) -> None:
        self.errors = list(errors)
        detail = "; ".join(f"{model}: {error}" for model, error in errors) or "no model available"
        super().__init__(f"{action}: {detail}")


ModelFactory = Callable[[ModelSpec, Settings], "Model"]


def build_model(spec: ModelSpec, settings: Settings) -> Model:
    """The pydantic-ai model object for a spec, with the provider key from the settings."""
    match spec.provider:
        case Provider.GEMINI:
            from pydantic_ai.models.google import GoogleModel
            from pydantic_ai.providers.google import GoogleProvider

            return GoogleModel(spec.model, provider=GoogleProvider(api_key=settings.gemini_api_key))
        case Provider.ANTHROPIC:
            from pydantic_ai.models.anthropic import AnthropicModel
            from pydantic_ai.providers.anthropic import AnthropicProvider

            return AnthropicModel(
                spec.model, provider=AnthropicProvider(api_key=settings.anthropic_api_key)
            )
        case Provider.OPENAI:
            from pydantic_ai.models.openai import OpenAIChatModel
            from pydantic_ai.providers.openai import OpenAIProvider

            return OpenAIChatModel(
                spec.model, provider=OpenAIProvider(api_key=settings.openai_api_key)
            )
        case Provider.DEEPSEEK:
            from pydantic_ai.models.openai import OpenAIChatModel
            from pydantic_ai.providers.deepseek import DeepSeekProvider

            return OpenAIChatModel(
                spec.model, provider=DeepSeekProvider(api_key=settings.deepseek_api_key)
            )
        case Provider.OPENAI_COMPATIBLE:
            from pydantic_ai.models.openai import OpenAIChatModel
            from pydantic_ai.providers.openai_compatible import OpenAICompatibleProvider

            if not settings.openai_compatible_base_url:
                raise ValueError("OPENAI_COMPATIBLE_BASE_URL is not set")
            provider = OpenAICompatibleProvider(
                "openai-compatible",
                base_url=settings.openai_compatible_base_url,
                api_key=settings.openai_compatible_api_key or "not-needed",
            )
            return OpenAIChatModel(spec.model, provider=provider)


def _usage_of(messages: Sequence[ModelMessage]) -> tuple[int, int]:
    """Tokens in and out over every model response of a run, finished or not."""
    from pydantic_ai.messages import ModelResponse

    responses = [m for m in messages if isinstance(m, ModelResponse)]
    return (
        sum(r.usage.input_tokens for r in responses),
        sum(r.usage.output_tokens for r in responses),
    )


def _describe(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}".strip()
    return text[:ERROR_MESSAGE_LIMIT]


class LLMRouter:
    """Try each model of an action's chain in order until one returns a valid output."""

    def __init__(
        self,
        registry: ModelRegistry,
        settings: Settings,
        recorder: CallRecorder,
        *,
        model_factory: ModelFactory = build_model,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.recorder = recorder
        self.model_factory = model_factory

    def chain(self, action: str, strategy: Strategy) -> list[ModelSpec]:
        """The models an action and strategy would try now, in order."""
        return self.registry.chain(action, strategy, self.settings)

    async def run(
        self,
        scope: CallScope,
        output_type: type[OutputT],
        *,
        system_prompt: str,
        user_prompt: str,
        models: Sequence[ModelSpec] | None = None,
    ) -> RoutedOutput[OutputT]:
        """The first valid output down the chain (or `models`); raises `NoModelSucceeded`."""
        chain = list(models) if models is not None else self.chain(scope.action, scope.strategy)
        errors: list[tuple[str, str]] = []
        for spec in chain:
            try:
                return await self._attempt(spec, scope, output_type, system_prompt, user_prompt)
            except Exception as error:
                errors.append((spec.id, _describe(error)))
        raise NoModelSucceeded(scope.action, errors)

    async def _attempt(
        self,
        spec: ModelSpec,
        scope: CallScope,
        output_type: type[OutputT],
        system_prompt: str,
        user_prompt: str,
    ) -> RoutedOutput[OutputT]:
        from pydantic_ai import Agent, capture_run_messages

        settings = self.settings
        model_settings: ModelSettings = {
            "timeout": settings.llm_timeout_seconds,
            "max_retries": settings.llm_request_retries,
            "max_tokens": spec.max_output_tokens,
        }
        started = time.perf_counter()
        with capture_run_messages() as messages:
            try:
                agent = Agent(
                    self.model_factory(spec, settings),
                    output_type=output_type,
                    instructions=system_prompt,
                    retries={"output": settings.llm_output_retries, "tools": 1},
                    model_settings=model_settings,
                )
                async with asyncio.timeout(settings.llm_timeout_seconds):
                    result = await agent.run(user_prompt)
            except Exception as error:
                tokens_in, tokens_out = _usage_of(messages)
                await self._record(spec, scope, started, tokens_in, tokens_out, error)
                raise
        usage = result.usage
        await self._record(spec, scope, started, usage.input_tokens, usage.output_tokens, None)
        cost = spec.cost(usage.input_tokens, usage.output_tokens)
        return RoutedOutput(result.output, spec, usage.input_tokens, usage.output_tokens, cost)

    async def _record(
        self,
        spec: ModelSpec,
        scope: CallScope,
        started: float,
        tokens_in: int,
        tokens_out: int,
        error: BaseException | None,
    ) -> None:
        await self.recorder.record(
            LLMCallRecord(
                tenant_id=scope.tenant_id,
                job_id=scope.job_id,
                action=scope.action,
                strategy=scope.strategy.value,
                provider=spec.provider.value,
                model_id=spec.id,
                prompt_version=scope.prompt_version,
                tokens_in=tokens_in,
                tokens_out=tokens_out,
                latency_ms=round((time.perf_counter() - started) * 1000),
                cost_usd=spec.cost(tokens_in, tokens_out),
                success=error is None,
                error_message=None if error is None else _describe(error),
            )
        )
