"""Learners' submissions to exercises, their verdicts and the teachers' reviews."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from course_supporter.db import Base, IdMixin, TimestampMixin


class SubmissionStatus(StrEnum):
    QUEUED = "queued"
    GRADED = "graded"
    FAILED = "failed"


class Submission(IdMixin, TimestampMixin, Base):
    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_learner", "tenant_id", "course_id", "learner_ref"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    course_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    # No foreign key: a learner's graded work outlives a regeneration of the structure.
    exercise_id: Mapped[uuid.UUID] = mapped_column(index=True)
    # The published structure version the exercise was read from (None: submitted before
    # publishing existed); grading reads the exercise as it stands in that version.
    structure_version: Mapped[int | None]
    learner_ref: Mapped[str] = mapped_column(String(128))
    answer: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=SubmissionStatus.QUEUED)
    job_id: Mapped[uuid.UUID | None]
    max_points: Mapped[float] = mapped_column(Float)
    score: Mapped[float | None] = mapped_column(Float)
    verdict: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    review_score: Mapped[float | None] = mapped_column(Float)
    review_comment: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None]


class QuizAttempt(IdMixin, TimestampMixin, Base):
    """One learner's answers to a lesson's quiz, graded exactly."""

    __tablename__ = "quiz_attempts"
    __table_args__ = (Index("ix_quiz_attempts_learner", "tenant_id", "course_id", "learner_ref"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    course_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    # No foreign key, as for submissions: the attempt outlives a regeneration of the structure.
    lesson_id: Mapped[uuid.UUID]
    learner_ref: Mapped[str] = mapped_column(String(128))
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    results: Mapped[list[dict[str, Any]]]
