"""Jobs: enqueued in the caller's transaction, read back tenant-scoped."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from course_supporter.errors import NotFoundError
from course_supporter.jobs.models import Job


def enqueue_job(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    kind: str,
    subject_id: uuid.UUID,
    params: dict[str, Any] | None = None,
) -> Job:
    """Add a queued job to the session; it commits with the row it works on, or not at all."""
    job = Job(tenant_id=tenant_id, kind=kind, subject_id=subject_id, params=params)
    session.add(job)
    return job


async def get_job(session: AsyncSession, tenant_id: uuid.UUID, job_id: uuid.UUID) -> Job:
    job = await session.scalar(select(Job).where(Job.tenant_id == tenant_id, Job.id == job_id))
    if job is None:
        raise NotFoundError("Job not found")
    return job


async def latest_job_for(session: AsyncSession, subject_id: uuid.UUID) -> Job | None:
    return await session.scalar(
        select(Job).where(Job.subject_id == subject_id).order_by(Job.id.desc()).limit(1)
    )
