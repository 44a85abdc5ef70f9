"""The ingestion job: a material's stored file or URL → its SourceDocument."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Any

from course_supporter.ingestion.extract import extract_document
from course_supporter.ingestion.formats import extension_of
from course_supporter.jobs.registry import JobContext, PermanentJobError, register_job_kind
from course_supporter.materials.service import (
    INGEST_JOB,
    fail_processing,
    finish_processing,
    start_processing,
)
from course_supporter.storage import ObjectNotFound

GONE = "The material was deleted before it was processed"


async def mark_material_failed(ctx: JobContext, message: str) -> None:
    async with ctx.db.transaction() as session:
        await fail_processing(session, ctx.subject_id, message)


@register_job_kind(INGEST_JOB, on_failure=mark_material_failed)
async def ingest_material(ctx: JobContext) -> dict[str, Any]:
    """Extract the material; it stays `processing` through retries and ends `done` or `error`.

    Two short transactions around the extraction, none open during it: `processing` commits
    first so clients see it while the file is read (for minutes, for a lecture), and on SQLite
    an open write transaction would hold the database's one write lock all that time."""
    async with ctx.db.transaction() as session:
        material = await start_processing(session, ctx.subject_id)
    if material is None:
        raise PermanentJobError(GONE)
    filename = material.filename or material.source_url or "material"
    workdir = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="cs-ingest-"))
    try:
        path = None
        if material.storage_key is not None:
            path = workdir / f"source{extension_of(filename)}"
            try:
                await ctx.storage.download_to(material.storage_key, path)
            except ObjectNotFound:
                raise PermanentJobError(
                    f"The stored file for {filename} is missing; upload it again"
                ) from None
        async with ctx.relay_progress() as progress:
            document = await extract_document(
                material.source_type,
                path=path,
                url=material.source_url if path is None else None,
                filename=filename,
                settings=ctx.settings,
                progress=progress,
            )
    finally:
        await asyncio.shield(asyncio.to_thread(shutil.rmtree, workdir, ignore_errors=True))
    parts = len(document.chunks)
    await ctx.report_progress(parts, parts, "extracted", force=True)
    async with ctx.db.transaction() as session:
        stored = await finish_processing(session, ctx.subject_id, document.model_dump(mode="json"))
    if not stored:
        raise PermanentJobError(GONE)
    return {
        "material_id": str(ctx.subject_id),
        "title": document.title,
        "chunks": len(document.chunks),
    }
