"""The model registry: models, actions and routing declared in `llm/models.yaml`."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from importlib.resources.abc import Traversable
from typing import Any

import yaml
from pydantic import BaseModel, Field, model_validator

from course_supporter.config import Settings
from course_supporter.llm.strategy import Strategy

TOKENS_PER_PRICE_UNIT = Decimal(1_000_000)
COST_QUANTUM = Decimal("0.00000001")


class Provider(StrEnum):
    GEMINI = "gemini"
    ANTHROPIC = "anthropic"
    OPENAI = "openai"
    DEEPSEEK = "deepseek"
    OPENAI_COMPATIBLE = "openai_compatible"


class Pricing(BaseModel):
    """US dollars per million tokens."""

    input: Decimal = Field(ge=0)
    output: Decimal = Field(ge=0)


class ModelSpec(BaseModel):
    """One model a provider serves, with what it can do and what it costs."""

    id: str
    provider: Provider
    model: str
    capabilities: list[str] = Field(default_factory=list)
    context_window: int = Field(gt=0)
    max_output_tokens: int = Field(default=8192, gt=0)
    price: Pricing

    def cost(self, tokens_in: int, tokens_out: int) -> Decimal:
        """The price of a call in US dollars."""
        total = tokens_in * self.price.input + tokens_out * self.price.output
        return (total / TOKENS_PER_PRICE_UNIT).quantize(COST_QUANTUM)


class ActionSpec(BaseModel):
    """Something the service asks models to do, and what a model needs to be routed to it."""

    description: str = ""
    requires: list[str] = Field(default_factory=list)
    min_context_window: int = Field(default=0, ge=0)


class ModelsConfig(BaseModel):
    """The whole of `llm/models.yaml`, checked for consistency."""

    models: dict[str, ModelSpec]
    actions: dict[str, ActionSpec]
    routing: dict[str, dict[Strategy, list[str]]]

    @model_validator(mode="before")
    @classmethod
    def _name_models(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("models"), dict):
            data = dict(data)
            data["models"] = {
                name: {"id": name, **spec} if isinstance(spec, dict) else spec
                for name, spec in data["models"].items()
            }
        return data

    @model_validator(mode="after")
    def _check_routing(self) -> ModelsConfig:
        for action, strategies in self.routing.items():
            spec = self.actions.get(action)
            if spec is None:
                raise ValueError(f"routing names unknown action {action!r}")
            if Strategy.DEFAULT not in strategies:
                raise ValueError(f"routing for {action!r} has no 'default' strategy")
            for strategy, chain in strategies.items():
                for model_id in chain:
                    model = self.models.get(model_id)
                    where = f"routing {action}.{strategy}"
                    if model is None:
                        raise ValueError(f"{where} names unknown model {model_id!r}")
                    missing = set(spec.requires) - set(model.capabilities)
                    if missing:
                        raise ValueError(f"{where}: {model_id} lacks {sorted(missing)}")
                    if model.context_window < spec.min_context_window:
                        raise ValueError(f"{where}: {model_id} has too small a context window")
        return self


def provider_configured(provider: Provider, settings: Settings) -> bool:
    """Whether the settings hold what a provider needs: a key, or a compatible base URL."""
    match provider:
        case Provider.GEMINI:
            return bool(settings.gemini_api_key)
        case Provider.ANTHROPIC:
            return bool(settings.anthropic_api_key)
        case Provider.OPENAI:
            return bool(settings.openai_api_key)
        case Provider.DEEPSEEK:
            return bool(settings.deepseek_api_key)
        case Provider.OPENAI_COMPATIBLE:
            return bool(settings.openai_compatible_base_url)


class ModelRegistry:
    """Routing from an action and a strategy to the ordered models that can be used now."""

    def __init__(self, config: ModelsConfig) -> None:
        self.config = config

    @classmethod
    def load(cls, path: Traversable) -> ModelRegistry:
        """Read and validate a models YAML file."""
        with path.open(encoding="utf-8") as file:
            return cls(ModelsConfig.model_validate(yaml.safe_load(file)))

    def model(self, model_id: str) -> ModelSpec:
        return self.config.models[model_id]

    def declared_chain(self, action: str, strategy: Strategy) -> list[ModelSpec]:
        """The models configured for an action and strategy (the default one if it has none)."""
        if action not in self.config.routing:
            raise KeyError(f"no routing for action {action!r}")
        strategies = self.config.routing[action]
        chain = strategies.get(strategy, strategies[Strategy.DEFAULT])
        return [self.config.models[model_id] for model_id in chain]

    def chain(self, action: str, strategy: Strategy, settings: Settings) -> list[ModelSpec]:
        """The declared chain without the models whose provider has no key configured."""
        return [
            spec
            for spec in self.declared_chain(action, strategy)
            if provider_configured(spec.provider, settings)
        ]
