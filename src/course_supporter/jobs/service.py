"""Jobs: enqueued in the caller's transaction, read back tenant-scoped, moved through states."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from course_supporter.db import Database, new_id, utcnow
from course_supporter.errors import NotFoundError
from course_supporter.jobs.models import Job, JobStatus
from course_supporter.jobs.registry import JobChange, notify_job_change

UNFINISHED = (JobStatus.QUEUED, JobStatus.RUNNING)


def enqueue_job(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    kind: str,
    subject_id: uuid.UUID,
    params: dict[str, Any] | None = None,
) -> Job:
    """Add a queued job to the session; it commits with the row it works on, or not at all."""
    job = Job(id=new_id(), tenant_id=tenant_id, kind=kind, subject_id=subject_id, params=params)
    session.add(job)
    notify_job_change(
        session, JobChange(job.id, tenant_id, kind, subject_id, JobStatus.QUEUED, attempt=0)
    )
    return job


async def get_job(session: AsyncSession, tenant_id: uuid.UUID, job_id: uuid.UUID) -> Job:
    job = await session.scalar(select(Job).where(Job.tenant_id == tenant_id, Job.id == job_id))
    if job is None:
        raise NotFoundError("Job not found")
    return job


@dataclass(frozen=True)
class Attempt:
    """A job row as a worker starts one attempt of it."""

    job_id: uuid.UUID
    tenant_id: uuid.UUID
    kind: str
    subject_id: uuid.UUID
    attempt: int
    params: dict[str, Any]


async def start_attempt(db: Database, job_id: uuid.UUID) -> Attempt | None:
    """Mark the job running and count the attempt; None when it is finished or gone."""
    now = utcnow()
    async with db.transaction() as session:
        row = (
            await session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status.in_(UNFINISHED))
                .values(
                    status=JobStatus.RUNNING,
                    attempts=Job.attempts + 1,
                    started_at=now,
                    dispatched_at=func.coalesce(Job.dispatched_at, now),
                )
                .returning(Job.tenant_id, Job.kind, Job.subject_id, Job.attempts, Job.params)
            )
        ).one_or_none()
        if row is not None:
            notify_job_change(
                session,
                JobChange(
                    job_id, row.tenant_id, row.kind, row.subject_id, JobStatus.RUNNING, row.attempts
                ),
            )
    if row is None:
        return None
    return Attempt(job_id, row.tenant_id, row.kind, row.subject_id, row.attempts, row.params or {})


async def finish_succeeded(db: Database, job_id: uuid.UUID, result: dict[str, Any] | None) -> None:
    await _finish(db, job_id, status=JobStatus.SUCCEEDED, result=result, error=None)


async def finish_failed(db: Database, job_id: uuid.UUID, error: str) -> None:
    await _finish(db, job_id, status=JobStatus.FAILED, error=error)


async def schedule_retry(db: Database, job_id: uuid.UUID, error: str) -> None:
    """Back to queued, keeping the last attempt's error visible to the client."""
    async with db.transaction() as session:
        row = (
            await session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == JobStatus.RUNNING)
                .values(status=JobStatus.QUEUED, error=error, progress=None)
                .returning(*_CHANGE_COLUMNS)
            )
        ).one_or_none()
        if row is not None:
            notify_job_change(session, _change(job_id, row, JobStatus.QUEUED, error=error))


async def record_progress(db: Database, job_id: uuid.UUID, progress: dict[str, Any]) -> None:
    """Store a running job's progress; listeners hear it as a `running` change."""
    async with db.transaction() as session:
        row = (
            await session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == JobStatus.RUNNING)
                .values(progress=progress)
                .returning(*_CHANGE_COLUMNS)
            )
        ).one_or_none()
        if row is not None:
            notify_job_change(session, _change(job_id, row, JobStatus.RUNNING, progress=progress))


async def defer(db: Database, job_id: uuid.UUID, reason: str) -> None:
    """Back to queued without spending the attempt: the job waits for its inputs."""
    async with db.transaction() as session:
        await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.RUNNING)
            .values(status=JobStatus.QUEUED, attempts=Job.attempts - 1, error=reason)
        )


_CHANGE_COLUMNS = (Job.tenant_id, Job.kind, Job.subject_id, Job.attempts)


def _change(job_id: uuid.UUID, row: Any, status: JobStatus, **details: Any) -> JobChange:
    return JobChange(
        job_id, row.tenant_id, row.kind, row.subject_id, status, row.attempts, **details
    )


async def _finish(
    db: Database,
    job_id: uuid.UUID,
    *,
    status: JobStatus,
    result: dict[str, Any] | None = None,
    error: str | None,
) -> None:
    async with db.transaction() as session:
        row = (
            await session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status.in_(UNFINISHED))
                .values(status=status, finished_at=utcnow(), result=result, error=error)
                .returning(*_CHANGE_COLUMNS)
            )
        ).one_or_none()
        if row is not None:
            notify_job_change(session, _change(job_id, row, status, error=error, result=result))


@dataclass(frozen=True)
class QueueStatus:
    """What /health says of the queue: the backlog, and when a worker last showed signs of life."""

    queued: int
    oldest_queued_seconds: float | None
    worker_last_seen_seconds: float | None
    """None: no worker has been seen at all."""


async def queue_status(db: Database, embedded_worker_alive: bool | None) -> QueueStatus:
    """The queued backlog from our jobs table; a worker's liveness from the queue's heartbeats
    (procrastinate's workers table on PostgreSQL) or, with the embedded worker, its task."""
    async with db.engine.connect() as connection:
        queued, oldest = (
            await connection.execute(
                select(func.count(), func.min(Job.created_at)).where(Job.status == JobStatus.QUEUED)
            )
        ).one()
        if embedded_worker_alive is not None:
            seen: float | None = 0.0 if embedded_worker_alive else None
        else:
            seen = await connection.scalar(
                text(
                    "SELECT extract(epoch FROM now() - max(last_heartbeat)) "
                    "FROM procrastinate_workers"
                )
            )
    now = utcnow()
    return QueueStatus(
        queued=int(queued),
        oldest_queued_seconds=_age(oldest, now),
        worker_last_seen_seconds=None if seen is None else round(float(seen), 1),
    )


def _age(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else round((now - moment).total_seconds(), 1)
