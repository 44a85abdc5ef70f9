"""The outbox relay: job rows committed with their subject are handed to the queue.

A row is handed over first and marked `dispatched_at` after, so a crash in between leaves it
unmarked and it is handed over again; `hand_over` skips rows the queue already holds.
"""

from __future__ import annotations

import uuid

import procrastinate
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from course_supporter.db import Database, utcnow
from course_supporter.jobs.models import Job, JobStatus
from course_supporter.jobs.queue import hand_over
from course_supporter.jobs.service import UNFINISHED

RELAY_BATCH = 100


async def relay_queued_jobs(db: Database, queue: procrastinate.App) -> int:
    """Hand over queued rows not yet dispatched; workers running this at once skip each
    other's rows (PostgreSQL row locks). Returns how many rows were handled."""
    async with db.transaction() as session:
        query = (
            select(Job.id)
            .where(Job.status == JobStatus.QUEUED, Job.dispatched_at.is_(None))
            .order_by(Job.id)
            .limit(RELAY_BATCH)
        )
        if db.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        job_ids = list(await session.scalars(query))
        await _hand_over_all(queue, job_ids)
        await _mark_dispatched(session, job_ids)
    return len(job_ids)


async def redispatch_unfinished(db: Database, queue: procrastinate.App) -> int:
    """Start-up of an in-memory queue: every queued or running row goes back into it, since
    the queue that held them died with the previous process."""
    async with db.transaction() as session:
        job_ids = list(
            await session.scalars(select(Job.id).where(Job.status.in_(UNFINISHED)).order_by(Job.id))
        )
        await _hand_over_all(queue, job_ids)
        await _mark_dispatched(session, job_ids)
    return len(job_ids)


async def _hand_over_all(queue: procrastinate.App, job_ids: list[uuid.UUID]) -> None:
    for job_id in job_ids:
        await hand_over(queue, job_id)


async def _mark_dispatched(session: AsyncSession, job_ids: list[uuid.UUID]) -> None:
    if job_ids:
        await session.execute(update(Job).where(Job.id.in_(job_ids)).values(dispatched_at=utcnow()))
