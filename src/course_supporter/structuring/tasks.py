"""The structure job body: a course's processed materials → its stored structure."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from course_supporter.config import Settings
from course_supporter.courses.service import STRUCTURE_JOB, get_course
from course_supporter.courses.structure import replace_structure
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
from course_supporter.structuring.architect import generate_structure
from course_supporter.structuring.schemas import parse_timecode

# How often a structure job that waits for materials looks again.
WAIT_FOR_MATERIALS_SECONDS = 2.0


async def structure_course(
    db: Database,
    settings: Settings,
    *,
    tenant_id: uuid.UUID,
    course_id: uuid.UUID,
    job_id: uuid.UUID | None,
    strategy: str,
    progress: Callable[[int, int | None, str], Awaitable[None]] | None = None,
) -> dict[str, Any]:
    """Generate outside any transaction; swap the stored structure in one short transaction.
    `progress(done, total, phase)` hears of each phase, and of the modules saved."""

    async def report(done: int, total: int | None, phase: str) -> None:
        if progress is not None:
            await progress(done, total, phase)

    async with db.sessions() as session:
        course = await get_course(session, tenant_id, course_id)
        title = course.title
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
    await report(0, len(documents), "merging materials")
    context = build_course_context(
        documents, {m.slide_number: float(parse_timecode(m.video_timecode)) for m in mappings}
    )
    await report(len(documents), len(documents), "generating structure")
    result = await generate_structure(
        context.materials,
        settings=settings,
        recorder=DatabaseCallRecorder(db),
        strategy=Strategy(strategy),
        tenant_id=tenant_id,
        job_id=job_id,
        title=title,
    )
    modules = len(result.structure.modules)
    await report(0, modules, "saving modules")
    async with db.sessions() as session:
        course = await get_course(session, tenant_id, course_id)
        saved = await replace_structure(
            session, course, result.structure, strategy=strategy, job_id=job_id
        )
        await session.commit()
    await report(saved.modules, saved.modules, "saved modules")
    return {
        "version": saved.version,
        "modules": saved.modules,
        "lessons": saved.lessons,
        "concepts": saved.concepts,
        "exercises": saved.exercises,
        "dropped_references": result.dropped_references,
        "references_without_term": result.references_without_term,
        "model": result.model_used,
        "provider": result.provider,
        "offline_fallback": result.offline_fallback,
        "cost_usd": str(result.cost_usd),
        "materials": [{"id": str(m.material_id), "label": m.label} for m in context.materials],
    }


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
            progress=lambda done, total, phase: ctx.report_progress(done, total, phase, force=True),
        )
    except NotFoundError as exc:
        raise PermanentJobError(
            "The course was deleted before its structure was generated"
        ) from exc
