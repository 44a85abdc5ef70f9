"""API shapes of submissions, verdicts and reviews."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MAX_BATCH = 1000

LearnerRef = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class SubmissionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    learner_ref: LearnerRef = Field(description="The tenant's opaque id of the learner")
    answer: str = Field(description="The answer as written; capped at MAX_ANSWER_CHARS")


class BatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    submissions: list[SubmissionCreate] = Field(min_length=1, max_length=MAX_BATCH)


class SubmissionAccepted(BaseModel):
    id: uuid.UUID
    job_id: uuid.UUID


class BatchAccepted(BaseModel):
    job_id: uuid.UUID
    ids: list[uuid.UUID]


class Span(BaseModel):
    start: int
    end: int


class CriterionVerdict(BaseModel):
    criterion: str
    status: Literal["met", "partial", "missed"]
    span: Span | None = Field(description="Where the answer evidences the criterion")
    concept_ids: list[uuid.UUID] = Field(default_factory=list)


class ReviewLocation(BaseModel):
    """A place in the course's materials: one of timecode, slide, page or url is set."""

    concept_id: uuid.UUID
    concept: str
    material_id: uuid.UUID
    timecode: str | None = None
    slide: int | None = None
    page: int | None = None
    url: str | None = None


class GraderInfo(BaseModel):
    name: str
    version: str


class Verdict(BaseModel):
    score: float
    max_points: float
    label: Literal["correct", "partially_correct", "incorrect"]
    criteria: list[CriterionVerdict]
    feedback: str
    review: list[ReviewLocation]
    confidence: float = Field(ge=0, le=1)
    needs_review: bool
    grader: GraderInfo


class TeacherReview(BaseModel):
    score: float
    comment: str | None
    reviewed_at: datetime


class SubmissionOut(BaseModel):
    id: uuid.UUID
    exercise_id: uuid.UUID
    course_id: uuid.UUID
    learner_ref: str
    status: Literal["queued", "graded", "failed"]
    job_id: uuid.UUID | None
    error: str | None
    verdict: Verdict | None
    review: TeacherReview | None
    created_at: datetime


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: float
    comment: Annotated[str, StringConstraints(max_length=5000)] | None = None


class AgreementFigures(BaseModel):
    reviewed: int
    pearson_r: float | None = Field(description="None below two reviews or with constant scores")
    rmse: float | None
    label_agreement: float | None = Field(description="Share of reviews with the same label")
    qwk: float | None = Field(description="Quadratic-weighted kappa on whole points")


class ExerciseAgreement(AgreementFigures):
    exercise_id: uuid.UUID


class AgreementReport(BaseModel):
    course_id: uuid.UUID
    overall: AgreementFigures
    exercises: list[ExerciseAgreement]


class ExerciseProgress(BaseModel):
    exercise_id: uuid.UUID
    best_score: float = Field(description="The teacher's score where reviewed, else the grader's")
    max_points: float
    attempts: int


class WeakConcept(BaseModel):
    concept_id: uuid.UUID
    title: str


class QuizProgress(BaseModel):
    best_score: float = Field(description="Most items right in one attempt")
    max_score: float
    attempts: int


class LessonProgress(BaseModel):
    lesson_id: uuid.UUID
    title: str
    exercises: list[ExerciseProgress]
    weak_concepts: list[WeakConcept]
    review: list[ReviewLocation]
    quiz: QuizProgress | None = None


class LearnerProgress(BaseModel):
    course_id: uuid.UUID
    learner_ref: str
    submissions: int
    lessons: list[LessonProgress]


MAX_QUIZ_ANSWERS = 500


class QuizOptionOut(BaseModel):
    id: str
    text: str


class QuizItemOut(BaseModel):
    id: uuid.UUID = Field(description="Stable while the lesson's concepts are")
    kind: Literal["multiple_choice", "true_false"]
    concept_id: uuid.UUID
    prompt: str
    options: list[QuizOptionOut]


class QuizOut(BaseModel):
    course_id: uuid.UUID
    lesson_id: uuid.UUID
    items: list[QuizItemOut]


class QuizAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: uuid.UUID
    choice: Annotated[str, StringConstraints(min_length=1, max_length=20)] = Field(
        description="An option id of the item: a-d, or true / false"
    )


class QuizAnswersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    learner_ref: LearnerRef = Field(description="The tenant's opaque id of the learner")
    answers: list[QuizAnswer] = Field(min_length=1, max_length=MAX_QUIZ_ANSWERS)


class QuizItemResult(BaseModel):
    item_id: uuid.UUID
    concept_id: uuid.UUID
    choice: str
    correct: bool
    review: list[ReviewLocation] = Field(description="Where the course teaches it, when wrong")


class QuizResult(BaseModel):
    attempt_id: uuid.UUID
    course_id: uuid.UUID
    lesson_id: uuid.UUID
    learner_ref: str
    score: float = Field(description="Items answered right; unanswered items count as wrong")
    max_score: float = Field(description="Items in the quiz")
    items: list[QuizItemResult]
