"""The grading job body: an exercise's queued submissions → their verdicts."""

from __future__ import annotations

import uuid
from typing import Any

from course_supporter.errors import NotFoundError
from course_supporter.jobs.registry import JobContext, PermanentJobError, register_job_kind
from course_supporter.llm.calls import DatabaseCallRecorder
from course_supporter.mentoring.service import (
    GRADE_JOB,
    fail_queued,
    record_verdict,
    start_grading,
)


def _submission_ids(ctx: JobContext) -> list[uuid.UUID]:
    return [uuid.UUID(value) for value in ctx.params.get("submission_ids", [])]


async def _mark_failed(ctx: JobContext, error: str) -> None:
    async with ctx.db.transaction() as session:
        await fail_queued(session, ctx.tenant_id, _submission_ids(ctx), error)


@register_job_kind(GRADE_JOB, on_failure=_mark_failed)
async def run_grade_job(ctx: JobContext) -> dict[str, Any]:
    """Read what grading needs, grade each answer outside any transaction (a model may take
    seconds), and store each verdict in its own: a crash keeps the verdicts stored so far, and
    the job's retry grades only what is still queued."""
    try:
        async with ctx.db.transaction() as session:
            grading = await start_grading(
                session,
                ctx.settings,
                ctx.tenant_id,
                ctx.subject_id,
                _submission_ids(ctx),
                recorder=DatabaseCallRecorder(ctx.db),
                job_id=ctx.job_id,
            )
    except NotFoundError as exc:
        raise PermanentJobError("The exercise was deleted before its answers were graded") from exc
    if grading is None:
        return {"graded": 0}
    stored = 0
    for done, (submission_id, answer) in enumerate(grading.answers, start=1):
        graded = await grading.grader.grade(answer)
        async with ctx.db.transaction() as session:
            stored += await record_verdict(session, grading, submission_id, graded)
        await ctx.report_progress(done, len(grading.answers), "grading")
    return {"graded": stored}
