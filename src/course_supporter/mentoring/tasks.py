"""The grading job body: an exercise's queued submissions → their verdicts."""

from __future__ import annotations

import time
import uuid
from typing import Any

from course_supporter.errors import NotFoundError
from course_supporter.jobs.registry import JobContext, PermanentJobError, register_job_kind
from course_supporter.llm.calls import DatabaseCallRecorder
from course_supporter.mentoring.model_grader import GradedAnswer
from course_supporter.mentoring.service import (
    GRADE_JOB,
    fail_queued,
    record_verdict,
    start_grading,
)

# One transaction per verdict made a class of 200 answers graded offline twice as slow (a
# commit and an event fan-out each); one per batch held a connection through every model call.
_STORE_EVERY_SECONDS = 1.0


def _submission_ids(ctx: JobContext) -> list[uuid.UUID]:
    return [uuid.UUID(value) for value in ctx.params.get("submission_ids", [])]


async def _mark_failed(ctx: JobContext, error: str) -> None:
    async with ctx.db.transaction() as session:
        await fail_queued(session, ctx.tenant_id, _submission_ids(ctx), error)


@register_job_kind(GRADE_JOB, on_failure=_mark_failed)
async def run_grade_job(ctx: JobContext) -> dict[str, Any]:
    """Read what grading needs, grade each answer outside any transaction (a model may take
    seconds), and store the verdicts at least every `_STORE_EVERY_SECONDS`: a crash loses at most
    that much grading, and the job's retry grades only what is still queued."""
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
    total, stored = len(grading.answers), 0
    pending: list[tuple[uuid.UUID, GradedAnswer]] = []
    last_store = time.monotonic()
    for done, (submission_id, answer) in enumerate(grading.answers, start=1):
        pending.append((submission_id, await grading.grader.grade(answer)))
        if done == total or time.monotonic() - last_store >= _STORE_EVERY_SECONDS:
            async with ctx.db.transaction() as session:
                for graded_id, graded in pending:
                    stored += await record_verdict(session, grading, graded_id, graded)
            pending.clear()
            last_store = time.monotonic()
        await ctx.report_progress(done, total, "grading")
    return {"graded": stored}
