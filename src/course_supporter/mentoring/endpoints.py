"""Mentoring endpoints: submit answers, read verdicts, record teachers' reviews."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from course_supporter.dependencies import SessionDep, SettingsDep
from course_supporter.http_errors import body_responses, error_responses
from course_supporter.mentoring import service
from course_supporter.mentoring.models import Submission
from course_supporter.mentoring.schemas import (
    AgreementReport,
    BatchAccepted,
    BatchCreate,
    LearnerProgress,
    QuizAnswersIn,
    QuizOut,
    QuizResult,
    ReviewIn,
    SubmissionAccepted,
    SubmissionCreate,
    SubmissionOut,
    TeacherReview,
    Verdict,
)
from course_supporter.tenancy.auth import CheckTenant, PrepTenant, ReadTenant, charge_scope
from course_supporter.tenancy.scopes import Scope

router = APIRouter(
    prefix="/api/v1", tags=["mentoring"], responses=error_responses(401, 403, 422, 429, 503)
)


@router.post(
    "/exercises/{exercise_id}/submissions",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SubmissionAccepted,
    responses=body_responses(404, 409),
)
async def submit_answer(
    exercise_id: uuid.UUID,
    body: SubmissionCreate,
    tenant: CheckTenant,
    session: SessionDep,
    settings: SettingsDep,
) -> SubmissionAccepted:
    """Queue one learner's answer for grading."""
    job, submissions = await service.submit_answers(
        session, settings, tenant.tenant_id, exercise_id, [body]
    )
    return SubmissionAccepted(id=submissions[0].id, job_id=job.id)


@router.post(
    "/exercises/{exercise_id}/submissions/batch",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BatchAccepted,
    responses=body_responses(404, 409),
)
async def submit_batch(
    exercise_id: uuid.UUID,
    body: BatchCreate,
    request: Request,
    tenant: CheckTenant,
    session: SessionDep,
    settings: SettingsDep,
) -> BatchAccepted:
    """Queue up to 1,000 answers as one grading job; each answer counts against `check`."""
    if len(body.submissions) > 1:
        await charge_scope(request, tenant, Scope.CHECK, len(body.submissions) - 1)
    job, submissions = await service.submit_answers(
        session, settings, tenant.tenant_id, exercise_id, body.submissions
    )
    return BatchAccepted(job_id=job.id, ids=[s.id for s in submissions])


@router.get(
    "/submissions/{submission_id}", response_model=SubmissionOut, responses=error_responses(404)
)
async def get_submission(
    submission_id: uuid.UUID, tenant: ReadTenant, session: SessionDep
) -> SubmissionOut:
    """A submission's status and, once graded, its verdict."""
    return submission_out(await service.get_submission(session, tenant.tenant_id, submission_id))


@router.put(
    "/submissions/{submission_id}/review",
    response_model=SubmissionOut,
    responses=body_responses(404),
)
async def review_submission(
    submission_id: uuid.UUID, body: ReviewIn, tenant: PrepTenant, session: SessionDep
) -> SubmissionOut:
    """Record the teacher's score and comment beside the machine's verdict."""
    submission = await service.review_submission(
        session, tenant.tenant_id, submission_id, body.score, body.comment
    )
    return submission_out(submission)


@router.get(
    "/courses/{course_id}/grading/agreement",
    response_model=AgreementReport,
    responses=error_responses(404),
)
async def grading_agreement(
    course_id: uuid.UUID, tenant: PrepTenant, session: SessionDep
) -> AgreementReport:
    """Agreement between the grader and the teachers' reviews: r, RMSE, labels, QWK."""
    return await service.grading_agreement(session, tenant.tenant_id, course_id)


LearnerRefPath = Annotated[
    str, Path(min_length=1, max_length=128, description="The tenant's opaque id of the learner")
]


@router.get(
    "/courses/{course_id}/learners/{learner_ref}",
    response_model=LearnerProgress,
    responses=error_responses(404),
)
async def learner_progress(
    course_id: uuid.UUID, learner_ref: LearnerRefPath, tenant: CheckTenant, session: SessionDep
) -> LearnerProgress:
    """A learner's best scores, weak concepts and what to review, lesson by lesson."""
    return await service.learner_progress(session, tenant.tenant_id, course_id, learner_ref)


@router.delete(
    "/courses/{course_id}/learners/{learner_ref}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(404),
)
async def erase_learner(
    course_id: uuid.UUID, learner_ref: LearnerRefPath, tenant: CheckTenant, session: SessionDep
) -> Response:
    """Erase every submission of the learner in the course."""
    await service.erase_learner(session, tenant.tenant_id, course_id, learner_ref)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/courses/{course_id}/lessons/{lesson_id}/quiz",
    response_model=QuizOut,
    responses=error_responses(404),
)
async def get_quiz(
    course_id: uuid.UUID, lesson_id: uuid.UUID, tenant: ReadTenant, session: SessionDep
) -> QuizOut:
    """The lesson's objective items (multiple choice, true/false), without their answers."""
    return await service.lesson_quiz(session, tenant.tenant_id, course_id, lesson_id)


@router.post(
    "/courses/{course_id}/lessons/{lesson_id}/quiz/answers",
    response_model=QuizResult,
    responses=body_responses(404),
)
async def answer_quiz(
    course_id: uuid.UUID,
    lesson_id: uuid.UUID,
    body: QuizAnswersIn,
    tenant: CheckTenant,
    session: SessionDep,
) -> QuizResult:
    """Grade a learner's answers to the lesson's quiz; wrong ones point to the course."""
    return await service.answer_quiz(session, tenant.tenant_id, course_id, lesson_id, body)


def submission_out(submission: Submission) -> SubmissionOut:
    review = None
    if submission.review_score is not None and submission.reviewed_at is not None:
        review = TeacherReview(
            score=submission.review_score,
            comment=submission.review_comment,
            reviewed_at=submission.reviewed_at,
        )
    return SubmissionOut(
        id=submission.id,
        exercise_id=submission.exercise_id,
        course_id=submission.course_id,
        learner_ref=submission.learner_ref,
        status=submission.status,
        job_id=submission.job_id,
        error=submission.error,
        verdict=Verdict.model_validate(submission.verdict) if submission.verdict else None,
        review=review,
        created_at=submission.created_at,
    )
