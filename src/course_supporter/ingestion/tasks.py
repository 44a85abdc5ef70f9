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
from course_supporter.materials.models import Material, MaterialStatus
from course_supporter.materials.service import INGEST_JOB
from course_supporter.storage import ObjectNotFound

GONE = "The material was deleted before it was processed"


async def mark_material_failed(ctx: JobContext, message: str) -> None:
    async with ctx.db.sessions() as session:
        material = await session.get(Material, ctx.subject_id)
        if material is not None:
            material.status = MaterialStatus.ERROR
            material.error_message = message
            await session.commit()


@register_job_kind(INGEST_JOB, on_failure=mark_material_failed)
async def ingest_material(ctx: JobContext) -> dict[str, Any]:
    """Extract the material; it stays `processing` through retries and ends `done` or `error`."""
    async with ctx.db.sessions() as session:
        material = await session.get(Material, ctx.subject_id)
        if material is None:
            raise PermanentJobError(GONE)
        material.status = MaterialStatus.PROCESSING
        material.error_message = None
        await session.commit()
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
        document = await extract_document(
            material.source_type,
            path=path,
            url=material.source_url if path is None else None,
            filename=filename,
            settings=ctx.settings,
        )
    finally:
        await asyncio.shield(asyncio.to_thread(shutil.rmtree, workdir, ignore_errors=True))
    async with ctx.db.sessions() as session:
        material = await session.get(Material, ctx.subject_id)
        if material is None:
            raise PermanentJobError(GONE)
        material.document = document.model_dump(mode="json")
        material.status = MaterialStatus.DONE
        await session.commit()
    return {
        "material_id": str(ctx.subject_id),
        "title": document.title,
        "chunks": len(document.chunks),
    }
