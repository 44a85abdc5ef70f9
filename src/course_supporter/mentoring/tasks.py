"""The grading job body: an exercise's queued submissions → their verdicts."""

from __future__ import annotations

import uuid
from typing import Any

from course_supporter.errors import NotFoundError
from course_supporter.jobs.registry import JobContext, PermanentJobError, register_job_kind
from course_supporter.llm.calls import DatabaseCallRecorder
from course_supporter.mentoring.service import GRADE_JOB, fail_queued, grade_queued


def _submission_ids(ctx: JobContext) -> list[uuid.UUID]:
    return [uuid.UUID(value) for value in ctx.params.get("submission_ids", [])]


async def _mark_failed(ctx: JobContext, error: str) -> None:
    async with ctx.db.transaction() as session:
        await fail_queued(session, ctx.tenant_id, _submission_ids(ctx), error)


@register_job_kind(GRADE_JOB, on_failure=_mark_failed)
async def run_grade_job(ctx: JobContext) -> dict[str, Any]:
    """Grade in one transaction: a crash before the commit leaves every answer queued."""
    async with ctx.db.transaction() as session:
        try:
            graded = await grade_queued(
                session,
                ctx.settings,
                ctx.tenant_id,
                ctx.subject_id,
                _submission_ids(ctx),
                recorder=DatabaseCallRecorder(ctx.db),
                job_id=ctx.job_id,
                on_progress=lambda done, total: ctx.report_progress(done, total, "grading"),
            )
        except NotFoundError as exc:
            raise PermanentJobError(
                "The exercise was deleted before its answers were graded"
            ) from exc
    return {"graded": graded}
