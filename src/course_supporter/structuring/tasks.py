"""The structure job body: a course's processed materials → its stored structure."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from course_supporter.authoring.service import (
    VersionKind,
    deleted_by_author,
    record_version,
    save_generated_structure,
)
from course_supporter.config import Settings
from course_supporter.courses.models import Course
from course_supporter.courses.service import (
    REGENERATE_JOB,
    STRUCTURE_JOB,
    get_course,
    load_tree,
    lock_course,
    save_tree,
)
from course_supporter.courses.structure import SavedStructure
from course_supporter.db import Database
from course_supporter.errors import NotFoundError
from course_supporter.ingestion.document import SourceDocument
from course_supporter.ingestion.merge import MaterialDocument, build_course_context
from course_supporter.jobs.registry import (
    JobContext,
    JobNotReady,
    PermanentJobError,
    register_job_kind,
)
from course_supporter.llm.calls import DatabaseCallRecorder
from course_supporter.llm.strategy import Strategy
from course_supporter.materials.service import (
    processed_materials,
    slide_mappings,
    unfinished_materials,
)
from course_supporter.structuring.architect import OFFLINE_PROVIDER, generate_structure
from course_supporter.structuring.regeneration import (
    Tombstoned,
    holds_kept,
    merge_course,
    merge_lesson,
    merge_module,
    part_materials,
)
from course_supporter.structuring.schemas import StructureNode, generated_nodes, parse_timecode

# How often a structure job that waits for materials looks again.
WAIT_FOR_MATERIALS_SECONDS = 2.0


async def _course_materials(
    db: Database, tenant_id: uuid.UUID, course_id: uuid.UUID
) -> tuple[str, list[MaterialDocument]]:
    """The course's title and its processed materials in order."""
    async with db.sessions() as session:
        course = await get_course(session, tenant_id, course_id)
        materials = await processed_materials(session, tenant_id, course_id)
        mappings = await slide_mappings(session, course_id)
        documents = [
            MaterialDocument(
                material_id=material.id,
                source_type=material.source_type,
                label=material.filename or material.source_url or str(material.id),
                document=SourceDocument.model_validate(material.document),
                position=material.position,
            )
            for material in materials
            if material.document is not None
        ]
        title = course.title
    context = build_course_context(
        documents, {m.slide_number: float(parse_timecode(m.video_timecode)) for m in mappings}
    )
    return title, list(context.materials)


async def structure_course(
    db: Database,
    settings: Settings,
    *,
    tenant_id: uuid.UUID,
    course_id: uuid.UUID,
    job_id: uuid.UUID | None,
    strategy: str,
    key_prefix: str | None = None,
    progress: Callable[[int, int | None, str], Awaitable[None]] | None = None,
) -> dict[str, Any]:
    """Generate outside any transaction; swap the stored structure in one short transaction.

    A course that has a structure keeps its edits: the fresh generation is merged into it.
    `progress(done, total, phase)` hears of each phase, and of the modules saved."""

    async def report(done: int, total: int | None, phase: str) -> None:
        if progress is not None:
            await progress(done, total, phase)

    await report(0, None, "merging materials")
    title, materials = await _course_materials(db, tenant_id, course_id)
    await report(len(materials), len(materials), "generating structure")
    result = await generate_structure(
        materials,
        settings=settings,
        recorder=DatabaseCallRecorder(db),
        strategy=Strategy(strategy),
        tenant_id=tenant_id,
        job_id=job_id,
        title=title,
    )
    modules = len(result.structure.modules)
    await report(0, modules, "saving modules")
    async with db.transaction() as session:
        course = await get_course(session, tenant_id, course_id)
        current = await load_tree(session, course_id)
        if current:
            merged = merge_course(
                current,
                generated_nodes(result.structure),
                tombstoned=await _tombstones(session, course_id),
            )
            saved = await _save_as_version(
                session, course, merged, VersionKind.REGENERATED, settings,
                strategy=strategy, job_id=job_id, key_prefix=key_prefix,
            )  # fmt: skip
        else:
            saved = await save_generated_structure(
                session,
                course,
                result.structure,
                strategy=strategy,
                job_id=job_id,
                key_prefix=key_prefix,
                keep=settings.structure_versions_kept,
            )
    await report(saved.modules, saved.modules, "saved modules")
    return {
        "version": saved.version,
        "modules": saved.modules,
        "lessons": saved.lessons,
        "concepts": saved.concepts,
        "exercises": saved.exercises,
        "kept_edits": bool(current) and any(holds_kept(node) for node in current),
        "dropped_references": result.dropped_references,
        "references_without_term": result.references_without_term,
        "model": result.model_used,
        "provider": result.provider,
        "offline_fallback": result.offline_fallback,
        "cost_usd": str(result.cost_usd),
        "materials": [{"id": str(m.material_id), "label": m.label} for m in materials],
    }


async def regenerate_part(
    db: Database,
    settings: Settings,
    *,
    tenant_id: uuid.UUID,
    course_id: uuid.UUID,
    job_id: uuid.UUID | None,
    part: str,
    item_id: uuid.UUID,
    instructions: str,
    strategy: str,
    key_prefix: str | None,
) -> dict[str, Any]:
    """Regenerate one module or lesson from the materials behind it and merge it in.

    Generation runs outside any transaction; the merge reads the structure again under the
    course's lock, so an edit made meanwhile is kept. Any failure leaves the structure as it
    was (nothing is written before the final transaction)."""
    title, materials = await _course_materials(db, tenant_id, course_id)
    async with db.sessions() as session:
        target = _find(await load_tree(session, course_id), part, item_id)
    if target is None:
        raise PermanentJobError(f"The {part} was deleted before it was regenerated")
    source = part_materials(target, materials)
    if not source:
        raise PermanentJobError(
            f"No section of the course's materials is behind this {part} any more (neither its "
            "references nor its titles); regenerate the whole course instead"
        )
    result = await generate_structure(
        source,
        settings=settings,
        recorder=DatabaseCallRecorder(db),
        strategy=Strategy(strategy),
        tenant_id=tenant_id,
        job_id=job_id,
        title=title,
        request=_regeneration_request(part, target, instructions),
    )
    fresh = generated_nodes(result.structure)
    async with db.transaction() as session:
        course = await get_course(session, tenant_id, course_id)
        await lock_course(session, course_id)
        current = await load_tree(session, course_id)
        target = _find(current, part, item_id)
        if target is None:
            raise PermanentJobError(f"The {part} was deleted while it was being regenerated")
        tombstoned = await _tombstones(session, course_id)
        merge = merge_module if part == "module" else merge_lesson
        part_merged = merge(target, fresh, tombstoned=tombstoned)
        if part_merged is None:
            raise PermanentJobError(
                f"Regenerating this {part} gave nothing to keep (no lesson, concept or exercise); "
                "the structure is left as it was"
            )
        merged = _replace_node(current, part_merged)
        saved = await _save_as_version(
            session, course, merged, VersionKind.REGENERATED, settings,
            strategy=strategy, job_id=job_id, key_prefix=key_prefix,
        )  # fmt: skip
    offline = result.provider == OFFLINE_PROVIDER
    return {
        "version": saved.version,
        "part": part,
        "item_id": str(item_id),
        "modules": saved.modules,
        "lessons": saved.lessons,
        "concepts": saved.concepts,
        "exercises": saved.exercises,
        "instructions": (
            None
            if not instructions
            else "ignored: the offline structurer takes no instructions"
            if offline
            else "passed to the model"
        ),
        "model": result.model_used,
        "provider": result.provider,
        "offline_fallback": result.offline_fallback,
        "cost_usd": str(result.cost_usd),
        "materials": [{"id": str(m.material_id), "label": m.label} for m in source],
    }


def _regeneration_request(part: str, target: StructureNode, instructions: str) -> str:
    """What the model is told besides the materials: only this part, and the author's words."""
    request = (
        f'Regenerate only the {part} titled "{target.key_text}" from these sections of the '
        f"course's materials; the rest of the course is kept as it is."
    )
    if instructions:
        request += f"\n\nThe author's request for this {part}:\n{instructions}"
    return request


def _find(modules: list[StructureNode], part: str, item_id: uuid.UUID) -> StructureNode | None:
    for module in modules:
        if part == "module" and module.id == item_id:
            return module
        for lesson in module.children:
            if part == "lesson" and lesson.id == item_id:
                return lesson
    return None


def _replace_node(modules: list[StructureNode], merged: StructureNode) -> list[StructureNode]:
    """The course's modules with the item of `merged`'s id swapped for it, nothing else."""
    out: list[StructureNode] = []
    for module in modules:
        if module.id == merged.id:
            out.append(merged)
            continue
        lessons = [merged if lesson.id == merged.id else lesson for lesson in module.children]
        out.append(replace(module, children=lessons))
    return out


async def _tombstones(session: AsyncSession, course_id: uuid.UUID) -> Tombstoned:
    deleted = await deleted_by_author(session, course_id)
    return lambda node: deleted(node.kind, node.key_text)


async def _save_as_version(
    session: AsyncSession,
    course: Course,
    modules: list[StructureNode],
    kind: VersionKind,
    settings: Settings,
    *,
    strategy: str,
    job_id: uuid.UUID | None,
    key_prefix: str | None,
) -> SavedStructure:
    """The merged tree as the course's rows and its next version."""
    saved = await save_tree(session, course, modules, strategy=strategy, job_id=job_id)
    await record_version(
        session,
        course.tenant_id,
        saved.record,
        kind=kind,
        key_prefix=key_prefix,
        job_id=job_id,
        keep=settings.structure_versions_kept,
    )
    return saved.saved


@register_job_kind(REGENERATE_JOB)
async def run_regenerate_job(ctx: JobContext) -> dict[str, Any]:
    """The job body: the course is the subject; the part, its id and the instructions params."""
    try:
        return await regenerate_part(
            ctx.db,
            ctx.settings,
            tenant_id=ctx.tenant_id,
            course_id=ctx.subject_id,
            job_id=ctx.job_id,
            part=str(ctx.params["part"]),
            item_id=uuid.UUID(str(ctx.params["item_id"])),
            instructions=str(ctx.params.get("instructions") or ""),
            strategy=str(ctx.params.get("strategy", "default")),
            key_prefix=ctx.params.get("key_prefix"),
        )
    except NotFoundError as exc:
        raise PermanentJobError("The course was deleted before its part was regenerated") from exc


@register_job_kind(STRUCTURE_JOB)
async def run_structure_job(ctx: JobContext) -> dict[str, Any]:
    """The job body: the course is the job's subject, the strategy its parameter; with
    `wait_for_materials` it waits, attempt-free, until no material is still processing."""
    if ctx.params.get("wait_for_materials"):
        async with ctx.db.sessions() as session:
            unfinished = await unfinished_materials(session, ctx.tenant_id, ctx.subject_id)
        if unfinished:
            raise JobNotReady(
                f"Waiting for {len(unfinished)} materials to finish processing",
                delay=WAIT_FOR_MATERIALS_SECONDS,
            )
    try:
        return await structure_course(
            ctx.db,
            ctx.settings,
            tenant_id=ctx.tenant_id,
            course_id=ctx.subject_id,
            job_id=ctx.job_id,
            strategy=str(ctx.params.get("strategy", "default")),
            key_prefix=ctx.params.get("key_prefix"),
            progress=lambda done, total, phase: ctx.report_progress(done, total, phase, force=True),
        )
    except NotFoundError as exc:
        raise PermanentJobError(
            "The course was deleted before its structure was generated"
        ) from exc
