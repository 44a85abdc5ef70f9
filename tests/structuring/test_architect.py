"""The LLM structurer with pydantic-ai's FunctionModel standing in for providers."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import pytest
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    ToolCallPart,
    UserPromptPart,
)
from pydantic_ai.models import Model
from pydantic_ai.models.function import AgentInfo, FunctionModel

from course_supporter.config import Settings
from course_supporter.ingestion.document import Chunk, ChunkKind, Reference, SourceDocument
from course_supporter.ingestion.merge import MaterialDocument
from course_supporter.llm.prompts import load_prompt
from course_supporter.llm.registry import ModelRegistry, ModelsConfig, ModelSpec
from course_supporter.llm.router import CallLog, NoModelSucceeded
from course_supporter.llm.strategy import Strategy
from course_supporter.structuring.architect import (
    estimate_tokens,
    generate_structure,
    input_budget,
    merge_parts,
    render_material,
    split_materials,
)
from course_supporter.structuring.schemas import CourseStructure

HEADER = re.compile(
    r"^=== material (\S+) \| [^|]+ \| ([^|]+) \| (.*?)(?: \(part \d+ of \d+\))? ===$", re.M
)
Respond = Callable[[list[ModelMessage], AgentInfo], ModelResponse]


def registry(context_window: int = 200_000, max_output: int = 4_000) -> ModelRegistry:
    model = {
        "provider": "openai_compatible",
        "capabilities": ["structured_output"],
        "context_window": context_window,
        "max_output_tokens": max_output,
        "price": {"input": "2", "output": "10"},
    }
    return ModelRegistry(
        ModelsConfig.model_validate(
            {
                "models": {"first": {**model, "model": "m1"}, "second": {**model, "model": "m2"}},
                "actions": {"course_structuring": {"requires": ["structured_output"]}},
                "routing": {"course_structuring": {"default": ["first", "second"]}},
            }
        )
    )


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "openai_compatible_base_url": "http://127.0.0.1:9/v1",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def factory(responders: Mapping[str, Respond]) -> Callable[[ModelSpec, Settings], Model]:
    def build(spec: ModelSpec, _: Settings) -> Model:
        return FunctionModel(responders[spec.id], model_name=spec.model)

    return build


def user_prompt(messages: list[ModelMessage]) -> str:
    return next(
        str(part.content)
        for message in messages
        if isinstance(message, ModelRequest)
        for part in message.parts
        if isinstance(part, UserPromptPart)
    )


def answer(info: AgentInfo, structure: dict[str, Any]) -> ModelResponse:
    return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, structure)])


def module_per_material(prompts: list[str]) -> Respond:
    """A model that makes one module per material header it sees, citing page 1 and page 99."""

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        prompt = user_prompt(messages)
        prompts.append(prompt)
        modules = [
            {
                "title": title,
                "difficulty": "easy",
                "lessons": [
                    {
                        "title": f"Lesson of {label}",
                        "concepts": [
                            {
                                "title": f"Idea of {title}",
                                "definition": "An idea.",
                                "page_references": [
                                    {"material_id": material_id, "page": 1},
                                    {"material_id": material_id, "page": 2},
                                    {"material_id": material_id, "page": 99},
                                ],
                            }
                        ],
                    }
                ],
            }
            for material_id, label, title in HEADER.findall(prompt)
        ]
        return answer(info, {"title": "Generated", "modules": modules})

    return respond


def failing(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    raise RuntimeError("provider is down")


def paged_material(label: str, pages: int, words_per_page: int = 50) -> MaterialDocument:
    chunks = [Chunk(kind=ChunkKind.HEADING, text=label.title(), ref=Reference(heading_level=1))]
    chunks += [
        Chunk(
            kind=ChunkKind.PARAGRAPH,
            text=" ".join(["word"] * words_per_page) + (f" Idea of {label}." if p == 1 else ""),
            ref=Reference(page=p),
        )
        for p in range(1, pages + 1)
    ]
    document = SourceDocument(source_type="text", title=label.title(), chunks=chunks)
    return MaterialDocument(uuid.uuid4(), "text", f"{label}.pdf", document)


async def test_structure_from_one_call_with_references_checked() -> None:
    prompts: list[str] = []
    materials = [paged_material("alpha", 3), paged_material("beta", 2)]
    log = CallLog()

    result = await generate_structure(
        materials,
        settings=settings(),
        recorder=log,
        title="My course",
        tenant_id=(tenant := uuid.uuid4()),
        registry=registry(),
        model_factory=factory({"first": module_per_material(prompts)}),
    )

    assert len(prompts) == 1 and "[p.2] word word" in prompts[0]
    assert result.structure.title == "My course"
    assert [m.title for m in result.structure.modules] == ["Alpha", "Beta"]
    # Page 99 of each material does not exist; page 2 exists but never names the idea.
    assert result.dropped_references == 4 and result.references_without_term == 2
    for module in result.structure.modules:
        assert [r.page for r in module.lessons[0].concepts[0].page_references] == [1]
    assert (result.model_used, result.provider, result.parts) == ("first", "openai_compatible", 1)
    assert result.prompt_version == "architect-v2" and not result.offline_fallback
    [call] = log.calls
    assert call.success and call.tenant_id == tenant and call.prompt_version == "architect-v2"
    assert (call.tokens_in, call.tokens_out) == (result.tokens_in, result.tokens_out)
    assert call.tokens_in > 0 and call.cost_usd == result.cost_usd > Decimal(0)


async def test_failing_model_falls_through_to_the_next() -> None:
    prompts: list[str] = []
    log = CallLog()

    result = await generate_structure(
        [paged_material("alpha", 2)],
        settings=settings(),
        recorder=log,
        registry=registry(),
        model_factory=factory({"first": failing, "second": module_per_material(prompts)}),
    )

    assert result.model_used == "second"
    assert [(c.model_id, c.success) for c in log.calls] == [("first", False), ("second", True)]
    assert "provider is down" in (log.calls[0].error_message or "")


async def test_materials_beyond_the_context_window_are_structured_per_part_and_merged() -> None:
    prompts: list[str] = []
    materials = [paged_material(name, 40) for name in ("alpha", "beta", "gamma")]
    materials.append(paged_material("huge", 200))
    small = registry(context_window=9_000, max_output=1_000)
    prompt = load_prompt(Settings(_env_file=None).prompts, "architect", "v2")
    budget = input_budget(small.model("first"), prompt)

    result = await generate_structure(
        materials,
        settings=settings(),
        recorder=CallLog(),
        registry=small,
        model_factory=factory({"first": module_per_material(prompts)}),
    )

    assert result.parts == len(prompts) > 4
    assert [m.title for m in result.structure.modules] == ["Alpha", "Beta", "Gamma", "Huge"]
    huge = result.structure.modules[-1]
    assert len(huge.lessons) == len([p for p in prompts if "huge.pdf" in p]) > 1
    # Nothing was cut: every page of every material reached a model, within its budget.
    all_text = "\n".join(prompts)
    for material in materials:
        for chunk in material.document.chunks[1:]:
            assert f"[p.{chunk.ref.page}] {chunk.text}" in all_text
    for material_part in split_materials(materials, budget):
        assert estimate_tokens(material_part.text) <= budget


async def test_no_model_available_uses_the_offline_structurer_and_records_it() -> None:
    log = CallLog()
    job = uuid.uuid4()

    result = await generate_structure(
        [paged_material("alpha", 2)],
        settings=settings(openai_compatible_base_url=None),
        recorder=log,
        strategy=Strategy.QUALITY,
        job_id=job,
    )

    assert result.offline_fallback and result.model_used == "offline-structurer"
    assert result.structure.modules[0].title == "Alpha"
    [call] = log.calls
    assert (call.provider, call.cost_usd, call.success, call.job_id) == (
        "local",
        Decimal(0),
        True,
        job,
    )
    assert call.strategy == "quality"


async def test_every_model_failing_falls_back_offline_unless_disabled() -> None:
    responders = {"first": failing, "second": failing}
    log = CallLog()

    result = await generate_structure(
        [paged_material("alpha", 2)],
        settings=settings(),
        recorder=log,
        registry=registry(),
        model_factory=factory(responders),
    )
    assert result.offline_fallback
    assert [(c.provider, c.success) for c in log.calls] == [
        ("openai_compatible", False),
        ("openai_compatible", False),
        ("local", True),
    ]

    with pytest.raises(NoModelSucceeded):
        await generate_structure(
            [paged_material("alpha", 2)],
            settings=settings(llm_offline_fallback=False),
            recorder=CallLog(),
            registry=registry(),
            model_factory=factory(responders),
        )


def test_merge_joins_a_module_split_across_parts() -> None:
    first = CourseStructure.model_validate(
        {
            "title": "A",
            "expected_skills": ["s1"],
            "modules": [{"title": "One", "lessons": [{"title": "a"}]}],
        }
    )
    second = CourseStructure.model_validate(
        {
            "title": "B",
            "expected_skills": ["s1", "s2"],
            "modules": [{"title": "one", "lessons": [{"title": "b"}]}, {"title": "Two"}],
        }
    )

    merged = merge_parts([first, second], None)

    assert merged.title == "A" and merged.expected_skills == ["s1", "s2"]
    assert [(m.title, [lesson.title for lesson in m.lessons]) for m in merged.modules] == [
        ("One", ["a", "b"]),
        ("Two", []),
    ]


def test_shipped_configuration_and_prompt_load() -> None:
    shipped = ModelRegistry.load(Settings(_env_file=None).models_config)
    prompt = load_prompt(Settings(_env_file=None).prompts, "architect", "v2")

    assert prompt.version == "architect-v2" and "{materials}" in prompt.user_template
    for strategy in Strategy:
        assert shipped.declared_chain("course_structuring", strategy)
    assert (
        shipped.chain(
            "course_structuring", Strategy.DEFAULT, settings(openai_compatible_base_url=None)
        )
        == []
    )
    keyed = settings(openai_compatible_base_url=None, deepseek_api_key="k")
    assert [m.id for m in shipped.chain("course_structuring", Strategy.BUDGET, keyed)] == [
        "deepseek-chat"
    ]


def test_the_model_sees_the_cleaned_outline_with_locations() -> None:
    """Prompt v2: headings with their levels, code verbatim, `url#anchor`, no back matter."""
    document = SourceDocument(
        source_type="web",
        title="Guessing Game",
        chunks=[
            Chunk(
                kind=ChunkKind.HEADING,
                text="Storing Values with Variables",
                ref=Reference(heading_level=2, url="https://doc.example/ch02", anchor="variables"),
            ),
            Chunk(
                kind=ChunkKind.CODE,
                text='let mut secret_number = 42;\n    println!("{secret_number}");',
                ref=Reference(url="https://doc.example/ch02", anchor="variables"),
            ),
            Chunk(
                kind=ChunkKind.PARAGRAPH,
                text="Permission is granted to copy this document.",
                back_matter=True,
            ),
        ],
    )
    text = render_material(MaterialDocument(uuid.uuid4(), "web", "ch02.html", document))
    assert "[url=https://doc.example/ch02#variables] ## Storing Values with Variables" in text
    assert '```\nlet mut secret_number = 42;\n    println!("{secret_number}");\n```' in text
    assert "Permission is granted" not in text
