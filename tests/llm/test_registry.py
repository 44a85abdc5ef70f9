"""Loading and validating the model registry; costs from configured prices."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from course_supporter.config import Settings
from course_supporter.llm.registry import (
    ModelRegistry,
    ModelsConfig,
    Provider,
    provider_configured,
)
from course_supporter.llm.strategy import Strategy


def config(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "models": {
            "cheap": {
                "provider": "deepseek",
                "model": "deepseek-chat",
                "capabilities": ["structured_output"],
                "context_window": 128000,
                "price": {"input": "0.28", "output": "0.42"},
            }
        },
        "actions": {"course_structuring": {"requires": ["structured_output"]}},
        "routing": {"course_structuring": {"default": ["cheap"]}},
    }
    data.update(changes)
    return data


def test_models_take_their_id_from_the_key_and_price_calls() -> None:
    registry = ModelRegistry(ModelsConfig.model_validate(config()))
    spec = registry.model("cheap")

    assert spec.id == "cheap" and spec.provider is Provider.DEEPSEEK
    assert spec.cost(1_000_000, 1_000_000) == Decimal("0.70")
    assert spec.cost(1234, 567) == Decimal("0.00058366")


def test_a_missing_strategy_uses_the_default_chain() -> None:
    registry = ModelRegistry(ModelsConfig.model_validate(config()))

    assert [m.id for m in registry.declared_chain("course_structuring", Strategy.QUALITY)] == [
        "cheap"
    ]
    with pytest.raises(KeyError):
        registry.declared_chain("grading", Strategy.DEFAULT)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"routing": {"course_structuring": {"default": ["missing"]}}}, "unknown model"),
        ({"routing": {"grading": {"default": ["cheap"]}}}, "unknown action"),
        ({"routing": {"course_structuring": {"budget": ["cheap"]}}}, "no 'default'"),
        ({"actions": {"course_structuring": {"requires": ["vision"]}}}, "lacks .'vision'."),
        ({"actions": {"course_structuring": {"min_context_window": 10**6}}}, "context window"),
    ],
)
def test_inconsistent_configuration_is_rejected(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ModelsConfig.model_validate(config(**changes))


def test_a_provider_without_a_key_is_skipped() -> None:
    registry = ModelRegistry(ModelsConfig.model_validate(config()))

    assert registry.chain("course_structuring", Strategy.DEFAULT, Settings(_env_file=None)) == []
    keyed = Settings(_env_file=None, deepseek_api_key="k")
    assert [m.id for m in registry.chain("course_structuring", Strategy.DEFAULT, keyed)] == [
        "cheap"
    ]
    assert provider_configured(
        Provider.OPENAI_COMPATIBLE, Settings(_env_file=None, openai_compatible_base_url="http://x")
    )
    assert not provider_configured(Provider.GEMINI, keyed)
