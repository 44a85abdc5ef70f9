"""Submission queries, always scoped to one tenant."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select

from course_supporter.db import Repository, TenantScopedRepository
from course_supporter.mentoring.models import QuizAttempt, Submission, SubmissionStatus

MAX_CALIBRATION_REVIEWS = 50


class SubmissionRepository(TenantScopedRepository[Submission]):
    model = Submission

    async def get_for_tenant(
        self, tenant_id: uuid.UUID, submission_id: uuid.UUID
    ) -> Submission | None:
        return await self.get_one_or_none(tenant_id, Submission.id == submission_id)

    async def queued_among(
        self, tenant_id: uuid.UUID, submission_ids: Sequence[uuid.UUID]
    ) -> Sequence[Submission]:
        statement = self.scoped(tenant_id).where(
            Submission.id.in_(submission_ids),
            Submission.status == SubmissionStatus.QUEUED,
        )
        return (await self.session.scalars(statement.order_by(Submission.id))).all()

    async def reviewed_for_exercise(
        self, tenant_id: uuid.UUID, exercise_id: uuid.UUID
    ) -> Sequence[Submission]:
        """The newest teacher-reviewed submissions of an exercise: the grader's calibration."""
        statement = (
            self.scoped(tenant_id)
            .where(
                Submission.exercise_id == exercise_id,
                Submission.review_score.is_not(None),
            )
            .order_by(Submission.reviewed_at.desc())
            .limit(MAX_CALIBRATION_REVIEWS)
        )
        return (await self.session.scalars(statement)).all()

    async def reviewed_for_course(
        self, tenant_id: uuid.UUID, course_id: uuid.UUID
    ) -> Sequence[Submission]:
        """Graded submissions a teacher has reviewed, by exercise."""
        statement = self.scoped(tenant_id).where(
            Submission.course_id == course_id,
            Submission.review_score.is_not(None),
            Submission.score.is_not(None),
        )
        return (
            await self.session.scalars(statement.order_by(Submission.exercise_id, Submission.id))
        ).all()

    async def graded_for_learner(
        self, tenant_id: uuid.UUID, course_id: uuid.UUID, learner_ref: str
    ) -> Sequence[Submission]:
        statement = self.scoped(tenant_id).where(
            Submission.course_id == course_id,
            Submission.learner_ref == learner_ref,
            Submission.status == SubmissionStatus.GRADED,
        )
        return (await self.session.scalars(statement.order_by(Submission.id))).all()

    async def delete_for_learner(
        self, tenant_id: uuid.UUID, course_id: uuid.UUID, learner_ref: str
    ) -> int:
        result = await self.session.execute(
            delete(Submission).where(
                Submission.tenant_id == tenant_id,
                Submission.course_id == course_id,
                Submission.learner_ref == learner_ref,
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class QuizAttemptRepository(Repository[QuizAttempt]):
    model = QuizAttempt

    async def for_learner(
        self, tenant_id: uuid.UUID, course_id: uuid.UUID, learner_ref: str
    ) -> Sequence[QuizAttempt]:
        statement = select(QuizAttempt).where(
            QuizAttempt.tenant_id == tenant_id,
            QuizAttempt.course_id == course_id,
            QuizAttempt.learner_ref == learner_ref,
        )
        return (await self.session.scalars(statement.order_by(QuizAttempt.id))).all()

    async def delete_for_learner(
        self, tenant_id: uuid.UUID, course_id: uuid.UUID, learner_ref: str
    ) -> int:
        result = await self.session.execute(
            delete(QuizAttempt).where(
                QuizAttempt.tenant_id == tenant_id,
                QuizAttempt.course_id == course_id,
                QuizAttempt.learner_ref == learner_ref,
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
