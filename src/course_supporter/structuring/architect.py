"""The LLM structurer: materials to a course structure through the router, never truncated."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from course_supporter.config import Settings
from course_supporter.ingestion.document import Chunk, ChunkKind
from course_supporter.ingestion.merge import MaterialDocument
from course_supporter.llm.prompts import PromptTemplate, load_prompt
from course_supporter.llm.registry import ModelRegistry, ModelSpec
from course_supporter.llm.router import (
    CallRecorder,
    CallScope,
    LLMCallRecord,
    LLMRouter,
    ModelFactory,
    NoModelSucceeded,
    build_model,
)
from course_supporter.llm.strategy import Strategy
from course_supporter.structuring.offline import structure_offline
from course_supporter.structuring.references import drop_missing_references
from course_supporter.structuring.schemas import (
    STRUCTURE_FORMAT_VERSION,
    CourseStructure,
    format_timecode,
)

ACTION = "course_structuring"
PROMPT_NAME = "architect"
PROMPT_VERSION = "v2"
OFFLINE_PROVIDER = "local"
OFFLINE_MODEL_ID = "offline-structurer"
CHARS_PER_TOKEN = 3
"""A conservative estimate (English averages about four) so that a part never overflows."""
PROMPT_OVERHEAD_TOKENS = 512


@dataclass(frozen=True)
class GenerationResult:
    """A checked structure and how it was made."""

    structure: CourseStructure
    dropped_references: int
    references_without_term: int
    """Of the dropped references, those whose location exists but does not hold the term."""
    model_used: str
    provider: str
    prompt_version: str | None
    parts: int
    offline_fallback: bool
    tokens_in: int
    tokens_out: int
    cost_usd: Decimal


@dataclass(frozen=True)
class MaterialPart:
    """A piece of the course small enough for one call: whole materials or a run of one's lines."""

    text: str
    labels: tuple[str, ...]


def estimate_tokens(text: str) -> int:
    """Tokens a text will take, over-estimated rather than under."""
    return len(text) // CHARS_PER_TOKEN + 1


def _location(chunk: Chunk) -> str:
    ref = chunk.ref
    marks: list[str] = []
    if ref.page is not None:
        marks.append(f"p.{ref.page}")
    if ref.slide is not None:
        marks.append(f"slide {ref.slide}")
    if ref.start_seconds is not None:
        time_mark = f"t={format_timecode(ref.start_seconds)}"
        if ref.end_seconds is not None:
            time_mark += f"-{format_timecode(ref.end_seconds)}"
        marks.append(time_mark)
    if ref.url:
        marks.append(f"url={ref.url}#{ref.anchor}" if ref.anchor else f"url={ref.url}")
    return f"[{' '.join(marks)}] " if marks else ""


def render_chunk(chunk: Chunk) -> str:
    """One chunk as prompt text with its location in brackets: headings keep their level,
    code its lines (fenced, verbatim)."""
    if chunk.kind is ChunkKind.CODE:
        return f"{_location(chunk)}\n```\n{chunk.text.strip(chr(10))}\n```"
    text = " ".join(chunk.text.split())
    if chunk.kind is ChunkKind.HEADING:
        text = f"{'#' * (chunk.ref.heading_level or 1)} {text}"
    elif chunk.kind is ChunkKind.SPEAKER_NOTES:
        text = f"(speaker notes) {text}"
    return _location(chunk) + text


def material_header(material: MaterialDocument, part: int = 1, parts: int = 1) -> str:
    """The line that opens a material in the prompt and names its id."""
    piece = f" (part {part} of {parts})" if parts > 1 else ""
    return (
        f"=== material {material.material_id} | {material.source_type} | "
        f"{material.label} | {material.document.title}{piece} ==="
    )


def _structured_chunks(material: MaterialDocument) -> list[Chunk]:
    """The chunks a structure is built from: back matter (licence, index, contents) is stored
    and searchable but never structured."""
    return [c for c in material.document.chunks if c.text.strip() and not c.back_matter]


def render_material(material: MaterialDocument) -> str:
    """A whole material as prompt text."""
    lines = [material_header(material)]
    lines.extend(render_chunk(chunk) for chunk in _structured_chunks(material))
    return "\n".join(lines)


def split_materials(
    materials: Sequence[MaterialDocument], budget_tokens: int
) -> list[MaterialPart]:
    """Whole materials packed into parts of at most `budget_tokens`; a larger one split by lines."""
    parts: list[MaterialPart] = []
    pending: list[str] = []
    pending_labels: list[str] = []
    pending_tokens = 0

    def flush() -> None:
        nonlocal pending_tokens
        if pending:
            parts.append(MaterialPart("\n\n".join(pending), tuple(pending_labels)))
            pending.clear()
            pending_labels.clear()
            pending_tokens = 0

    for material in materials:
        text = render_material(material)
        tokens = estimate_tokens(text)
        if tokens <= budget_tokens:
            if pending_tokens + tokens > budget_tokens:
                flush()
            pending.append(text)
            pending_labels.append(material.label)
            pending_tokens += tokens
            continue
        flush()
        parts.extend(_split_one(material, budget_tokens))
    flush()
    return parts


def _split_one(material: MaterialDocument, budget_tokens: int) -> list[MaterialPart]:
    """A material too large for one call, as consecutive runs of lines, each with its header."""
    lines = [render_chunk(chunk) for chunk in _structured_chunks(material)]
    header_tokens = estimate_tokens(material_header(material, 99, 99))
    room = budget_tokens - header_tokens
    if room <= 0:
        raise ValueError("context budget is smaller than a material header")
    runs: list[list[str]] = [[]]
    used = 0
    for line in lines:
        for piece in _pieces(line, room):
            tokens = estimate_tokens(piece) + 1
            if runs[-1] and used + tokens > room:
                runs.append([])
                used = 0
            runs[-1].append(piece)
            used += tokens
    return [
        MaterialPart("\n".join([material_header(material, n, len(runs)), *run]), (material.label,))
        for n, run in enumerate(runs, 1)
    ]


def _pieces(line: str, room_tokens: int) -> list[str]:
    """A line cut into pieces that fit `room_tokens` (only a giant paragraph needs cutting)."""
    size = max(room_tokens - 1, 1) * CHARS_PER_TOKEN - CHARS_PER_TOKEN
    if estimate_tokens(line) + 1 <= room_tokens or size <= 0:
        return [line]
    return [line[start : start + size] for start in range(0, len(line), size)]


def input_budget(spec: ModelSpec, prompt: PromptTemplate) -> int:
    """Tokens of materials a model can take in one call, after prompts and room to answer."""
    fixed = estimate_tokens(prompt.system) + estimate_tokens(prompt.user_template)
    return spec.context_window - spec.max_output_tokens - fixed - PROMPT_OVERHEAD_TOKENS


def merge_parts(parts: Sequence[CourseStructure], title: str | None) -> CourseStructure:
    """Partial structures, in order, as one course; a module split across parts is joined."""
    first = parts[0]
    merged = CourseStructure(
        title=title or first.title,
        description=first.description,
        learning_goal=first.learning_goal,
        expected_knowledge=list(dict.fromkeys(k for p in parts for k in p.expected_knowledge)),
        expected_skills=list(dict.fromkeys(s for p in parts for s in p.expected_skills)),
    )
    for part in parts:
        for module in part.modules:
            previous = merged.modules[-1] if merged.modules else None
            if previous and previous.title.casefold() == module.title.casefold():
                previous.lessons.extend(module.lessons)
            else:
                merged.modules.append(module.model_copy(deep=True))
    return merged


@dataclass
class _Totals:
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: Decimal = Decimal(0)


class Architect:
    """Structures a course with the router: one call if it fits, else per part and merged."""

    def __init__(
        self, router: LLMRouter, prompt: PromptTemplate, scope: CallScope, request: str = ""
    ) -> None:
        self.router = router
        self.prompt = prompt
        self.scope = scope
        self.request = request
        """Said before every call's materials: what part is regenerated, the author's request."""
        self.totals = _Totals()
        self.models_used: list[ModelSpec] = []

    async def structure(
        self, materials: Sequence[MaterialDocument], title: str | None
    ) -> tuple[CourseStructure, int]:
        """The course structure and the number of calls it took; raises `NoModelSucceeded`."""
        chain = self.router.chain(self.scope.action, self.scope.strategy)
        if not chain:
            raise NoModelSucceeded(self.scope.action, [])
        whole = "\n\n".join(render_material(m) for m in materials)
        if any(input_budget(spec, self.prompt) >= estimate_tokens(whole) for spec in chain):
            structure = await self._call(whole, title, chain, self.request)
            return structure, 1
        budget = max(input_budget(spec, self.prompt) for spec in chain)
        parts = split_materials(materials, budget)
        structures = []
        for number, part in enumerate(parts, 1):
            note = (
                f"This is part {number} of {len(parts)} of the course ({', '.join(part.labels)}). "
                "Structure only these materials; the parts are joined in order afterwards."
            )
            note = f"{self.request}\n\n{note}" if self.request else note
            structures.append(await self._call(part.text, title, chain, note))
        return merge_parts(structures, title), len(parts)

    async def _call(
        self, materials_text: str, title: str | None, chain: Sequence[ModelSpec], note: str
    ) -> CourseStructure:
        tokens = estimate_tokens(materials_text)
        fitting = [spec for spec in chain if input_budget(spec, self.prompt) >= tokens]
        user_prompt = self.prompt.render_user(
            course_title=title or "(not given: choose a fitting title)",
            scope_note=note,
            materials=materials_text,
        )
        routed = await self.router.run(
            self.scope,
            CourseStructure,
            system_prompt=self.prompt.system,
            user_prompt=user_prompt,
            models=fitting,
        )
        self.totals.tokens_in += routed.tokens_in
        self.totals.tokens_out += routed.tokens_out
        self.totals.cost_usd += routed.cost_usd
        self.models_used.append(routed.model)
        return routed.output


async def _structure_offline_recorded(
    materials: Sequence[MaterialDocument],
    title: str | None,
    scope: CallScope,
    recorder: CallRecorder,
) -> CourseStructure:
    """The offline structurer, recorded like a model call that costs nothing."""
    started = time.perf_counter()
    structure = structure_offline(materials, title=title)
    await recorder.record(
        LLMCallRecord(
            tenant_id=scope.tenant_id,
            job_id=scope.job_id,
            action=scope.action,
            strategy=scope.strategy.value,
            provider=OFFLINE_PROVIDER,
            model_id=OFFLINE_MODEL_ID,
            prompt_version=None,
            tokens_in=0,
            tokens_out=0,
            latency_ms=round((time.perf_counter() - started) * 1000),
            cost_usd=Decimal(0),
            success=True,
        )
    )
    return structure


async def generate_structure(
    materials: Sequence[MaterialDocument],
    *,
    settings: Settings,
    recorder: CallRecorder,
    strategy: Strategy = Strategy.DEFAULT,
    tenant_id: UUID | None = None,
    job_id: UUID | None = None,
    title: str | None = None,
    registry: ModelRegistry | None = None,
    model_factory: ModelFactory = build_model,
    request: str = "",
) -> GenerationResult:
    """Structure a course with the strategy's models, offline as last resort, references checked.

    `request` goes into the prompt ahead of the materials (what part is regenerated, and the
    author's instructions); the offline structurer cannot take it."""
    if not materials:
        raise ValueError("no materials to structure")
    registry = registry or ModelRegistry.load(settings.models_config)
    prompt = load_prompt(settings.prompts, PROMPT_NAME, PROMPT_VERSION)
    scope = CallScope(ACTION, strategy, prompt.version, tenant_id, job_id)
    router = LLMRouter(registry, settings, recorder, model_factory=model_factory)
    architect = Architect(router, prompt, scope, request)
    try:
        structure, parts = await architect.structure(materials, title)
        used = architect.models_used
        model_used = ",".join(dict.fromkeys(spec.id for spec in used))
        provider = ",".join(dict.fromkeys(spec.provider.value for spec in used))
        prompt_version: str | None = prompt.version
        offline = False
    except NoModelSucceeded:
        if not settings.llm_offline_fallback:
            raise
        offline_scope = CallScope(ACTION, strategy, None, tenant_id, job_id)
        structure = await _structure_offline_recorded(materials, title, offline_scope, recorder)
        parts, model_used, provider, prompt_version, offline = (
            1,
            OFFLINE_MODEL_ID,
            OFFLINE_PROVIDER,
            None,
            True,
        )
    if title:
        structure.title = title
    structure.format_version = STRUCTURE_FORMAT_VERSION
    checked = drop_missing_references(structure, materials)
    totals = architect.totals
    return GenerationResult(
        structure=checked.structure,
        dropped_references=checked.dropped,
        references_without_term=checked.without_term,
        model_used=model_used,
        provider=provider,
        prompt_version=prompt_version,
        parts=parts,
        offline_fallback=offline,
        tokens_in=totals.tokens_in,
        tokens_out=totals.tokens_out,
        cost_usd=totals.cost_usd,
    )
