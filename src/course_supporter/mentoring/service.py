"""Mentoring rules: accept answers, grade them as a job, point learners back to the course."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from course_supporter.authoring.service import (
    PublishedStructure,
    published_exercise,
    published_structure,
    version_exercise,
)
from course_supporter.config import Settings
from course_supporter.courses.models import Concept, Exercise
from course_supporter.courses.service import (
    course_concepts,
    get_course,
    get_exercise,
)
from course_supporter.db import utcnow
from course_supporter.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
)
from course_supporter.events.service import SUBMISSION_GRADED, record_event
from course_supporter.jobs.models import Job
from course_supporter.jobs.service import enqueue_job
from course_supporter.llm.router import CallRecorder
from course_supporter.materials.models import Material
from course_supporter.mentoring.agreement import (
    pearson,
    quadratic_weighted_kappa,
    rmse,
    score_bands,
)
from course_supporter.mentoring.model_grader import AnswerGrader, GradedAnswer
from course_supporter.mentoring.models import QuizAttempt, Submission, SubmissionStatus
from course_supporter.mentoring.offline import (
    GradingQuestion,
    Review,
    content_tokens,
    label_for,
)
from course_supporter.mentoring.quizzes import (
    QuizAnswerError,
    QuizConcept,
    QuizItem,
    build_quiz,
    grade_quiz,
)
from course_supporter.mentoring.repository import QuizAttemptRepository, SubmissionRepository
from course_supporter.mentoring.schemas import (
    AgreementFigures,
    AgreementReport,
    ExerciseAgreement,
    ExerciseProgress,
    LearnerProgress,
    LessonProgress,
    QuizAnswersIn,
    QuizItemOut,
    QuizItemResult,
    QuizOptionOut,
    QuizOut,
    QuizProgress,
    QuizResult,
    ReviewLocation,
    SubmissionCreate,
    Verdict,
    WeakConcept,
)
from course_supporter.tenancy.service import effective_review_threshold, review_threshold

GRADE_JOB = "grade_submissions"
REFERENCE_CRITERION = "Covers the reference solution"


async def submit_answers(
    session: AsyncSession,
    settings: Settings,
    tenant_id: uuid.UUID,
    exercise_id: uuid.UUID,
    answers: Sequence[SubmissionCreate],
) -> tuple[Job, list[Submission]]:
    """Store the answers as given and queue one grading job for all of them.

    Learners answer the exercise of the published version: 409 while its course publishes
    nothing, or a version without it."""
    published = await published_exercise(session, tenant_id, exercise_id)
    exercise, course_id = published.exercise, published.course_id
    if not exercise.reference_solution.strip() and not exercise.grading_criteria:
        raise ConflictError(
            "This exercise has no reference solution and no grading criteria: add one to grade it"
        )
    for number, item in enumerate(answers):
        if len(item.answer) > settings.max_answer_chars:
            where = f"answer {number + 1} is" if len(answers) > 1 else "the answer is"
            raise PayloadTooLargeError(
                f"{where} {len(item.answer)} characters; the cap is {settings.max_answer_chars}"
            )
    submissions = [
        Submission(
            tenant_id=tenant_id,
            course_id=course_id,
            exercise_id=exercise.id,
            learner_ref=item.learner_ref,
            answer=item.answer,
            status=SubmissionStatus.QUEUED,
            max_points=exercise.max_points,
            structure_version=published.version,
        )
        for item in answers
    ]
    session.add_all(submissions)
    await session.flush()
    job = enqueue_job(
        session,
        tenant_id,
        GRADE_JOB,
        exercise.id,
        {"submission_ids": [str(s.id) for s in submissions]},
    )
    await session.flush()
    for submission in submissions:
        submission.job_id = job.id
    await session.flush()
    return job, submissions


async def get_submission(
    session: AsyncSession, tenant_id: uuid.UUID, submission_id: uuid.UUID
) -> Submission:
    submission = await SubmissionRepository(session).get_for_tenant(tenant_id, submission_id)
    if submission is None:
        raise NotFoundError("Submission not found")
    return submission


async def review_submission(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    submission_id: uuid.UUID,
    score: float,
    comment: str | None,
) -> Submission:
    """Store the teacher's grade beside the machine's; it calibrates later gradings."""
    submission = await get_submission(session, tenant_id, submission_id)
    if not 0 <= score <= submission.max_points:
        raise InvalidInputError(
            f"score must be between 0 and {submission.max_points:g}", loc=("body", "score")
        )
    submission.review_score, submission.review_comment = score, comment
    submission.reviewed_at = utcnow()
    await session.flush()
    return submission


@dataclass(frozen=True)
class GradingRound:
    """What grading a batch of queued answers needs, read in one short transaction and then
    used outside any: no database connection is held while a model answers."""

    tenant_id: uuid.UUID
    exercise_id: uuid.UUID
    course_id: uuid.UUID
    exercise: Exercise
    grader: AnswerGrader
    pointers: CoursePointers
    threshold: float
    answers: list[tuple[uuid.UUID, str]]
    """(submission id, answer) of each submission queued when the round started."""


async def start_grading(
    session: AsyncSession,
    settings: Settings,
    tenant_id: uuid.UUID,
    exercise_id: uuid.UUID,
    submission_ids: Sequence[uuid.UUID],
    *,
    recorder: CallRecorder | None = None,
    job_id: uuid.UUID | None = None,
) -> GradingRound | None:
    """The round for the submissions still queued among `submission_ids`; None if none is.

    With a `recorder` the configured models grade (each call logged there), else offline."""
    repository = SubmissionRepository(session)
    queued = await repository.queued_among(tenant_id, submission_ids)
    if not queued:
        return None
    exercise, concepts = await _graded_exercise(session, tenant_id, exercise_id, queued[0])
    course_id = queued[0].course_id
    reviews = [
        Review(s.answer, s.review_score)
        for s in await repository.reviewed_for_exercise(tenant_id, exercise_id)
        if s.review_score is not None
    ]
    grader = AnswerGrader(
        settings,
        GradingQuestion(
            exercise.description,
            exercise.reference_solution,
            tuple(exercise.grading_criteria),
            exercise.max_points,
        ),
        reviews,
        recorder=recorder,
        tenant_id=tenant_id,
        job_id=job_id,
    )
    return GradingRound(
        tenant_id=tenant_id,
        exercise_id=exercise_id,
        course_id=course_id,
        exercise=exercise,
        grader=grader,
        pointers=CoursePointers(
            exercise, concepts, await _material_ids(session, tenant_id, course_id)
        ),
        threshold=effective_review_threshold(await review_threshold(session, tenant_id), settings),
        answers=[(submission.id, submission.answer) for submission in queued],
    )


async def record_verdict(
    session: AsyncSession, grading: GradingRound, submission_id: uuid.UUID, graded: GradedAnswer
) -> bool:
    """Store one verdict, with its `submission.graded` event, if the submission is still
    queued (a rerun of the job, or a deletion, may have settled it meanwhile); the caller
    commits."""
    found = await SubmissionRepository(session).queued_among(grading.tenant_id, [submission_id])
    if not found:
        return False
    submission = found[0]
    document = verdict_document(graded, grading.exercise, grading.pointers, grading.threshold)
    submission.verdict = document
    submission.score = graded.verdict.score
    submission.status = SubmissionStatus.GRADED
    record_event(
        session,
        grading.tenant_id,
        SUBMISSION_GRADED,
        submission.id,
        {
            "submission_id": str(submission.id),
            "exercise_id": str(grading.exercise_id),
            "course_id": str(grading.course_id),
            "learner_ref": submission.learner_ref,
            "score": graded.verdict.score,
            "max_points": submission.max_points,
            "label": document.get("label"),
            "needs_review": document.get("needs_review"),
        },
    )
    await session.flush()
    return True


async def _graded_exercise(
    session: AsyncSession, tenant_id: uuid.UUID, exercise_id: uuid.UUID, submission: Submission
) -> tuple[Exercise, Sequence[Concept]]:
    """The exercise and concepts as the version the learner answered shows them (the draft's
    rows for answers given before versions were recorded, or once that version is pruned)."""
    if submission.structure_version is not None:
        found = await version_exercise(
            session, submission.course_id, submission.structure_version, exercise_id
        )
        if found is not None:
            return found.exercise, found.concepts
    exercise, course_id = await get_exercise(session, tenant_id, exercise_id)
    return exercise, await course_concepts(session, course_id)


async def fail_queued(
    session: AsyncSession, tenant_id: uuid.UUID, submission_ids: Sequence[uuid.UUID], error: str
) -> None:
    for submission in await SubmissionRepository(session).queued_among(tenant_id, submission_ids):
        submission.status, submission.error = SubmissionStatus.FAILED, error


async def _material_ids(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID
) -> frozenset[str]:
    rows = await session.scalars(
        select(Material.id).where(Material.tenant_id == tenant_id, Material.course_id == course_id)
    )
    return frozenset(str(material_id) for material_id in rows)


class CoursePointers:
    """Which concepts teach a criterion, and where the course's materials explain them."""

    def __init__(
        self, exercise: Exercise, concepts: Sequence[Concept], material_ids: frozenset[str]
    ) -> None:
        self._by_id = {str(c.id): c for c in concepts}
        self._linked = [self._by_id[i] for i in exercise.concept_ids if i in self._by_id]
        self._lesson = [c for c in concepts if c.lesson_id == exercise.lesson_id]
        self._material_ids = material_ids
        self._concept_stems = {
            str(c.id): {t.stem for t in content_tokens(f"{c.title} {c.definition}")}
            for c in self._linked or self._lesson
        }
        self._task = exercise.description

    def concepts_for(self, criterion: str) -> list[Concept]:
        """The concepts behind a criterion: those sharing most of its words, else most of the
        task's (a criterion such as "the output matches" names no concept, the listing does),
        else the linked concepts or the lesson's first: a learner who missed something is
        always sent back to where the lesson teaches it."""
        for text in (criterion, self._task):
            found = self._sharing_most_words(text)
            if found:
                return found
        return list(self._linked or self._lesson[:1])

    def _sharing_most_words(self, text: str) -> list[Concept]:
        candidates = self._linked or self._lesson
        stems = {t.stem for t in content_tokens(text)}
        scored = [(len(stems & self._concept_stems[str(c.id)]), c) for c in candidates]
        best = max((score for score, _ in scored), default=0)
        return [c for score, c in scored if score == best] if best else []

    def locations(self, concepts: Sequence[Concept]) -> list[dict[str, Any]]:
        """Each concept's references into materials the course still has."""
        return course_locations(concepts, self._material_ids)


def course_locations(
    concepts: Sequence[Concept], material_ids: frozenset[str]
) -> list[dict[str, Any]]:
    """Each concept's references into materials the course still has, without repeats."""
    found: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str]] = set()
    for concept in concepts:
        for kind, refs in (
            ("timecode", concept.timecodes),
            ("slide", concept.slide_references),
            ("page", concept.page_references),
            ("url", concept.web_references),
        ):
            for ref in refs:
                material_id = str(ref.get("material_id"))
                value = ref.get(kind)
                key = (material_id, kind, str(value))
                if material_id not in material_ids or value is None or key in seen:
                    continue
                seen.add(key)
                found.append(
                    {
                        "concept_id": str(concept.id),
                        "concept": concept.title,
                        "material_id": material_id,
                        kind: value,
                    }
                )
    return found


def verdict_document(
    graded: GradedAnswer, exercise: Exercise, pointers: CoursePointers, review_below: float
) -> dict[str, Any]:
    """The stored verdict: the API's `Verdict` shape as JSON."""
    verdict = graded.verdict
    criteria = []
    behind_missed: list[Concept] = []
    for result in verdict.criteria:
        text = (
            exercise.reference_solution
            if result.criterion == REFERENCE_CRITERION
            else result.criterion
        )
        concepts = pointers.concepts_for(text)
        if result.status != "met":
            behind_missed += [c for c in concepts if c not in behind_missed]
        criteria.append(
            {
                "criterion": result.criterion,
                "status": result.status,
                "span": {"start": result.span[0], "end": result.span[1]} if result.span else None,
                "concept_ids": [str(c.id) for c in concepts],
            }
        )
    needs_review = (
        verdict.instructs_grader or graded.unsupported or verdict.confidence < review_below
    )
    return {
        "score": verdict.score,
        "max_points": exercise.max_points,
        "label": verdict.label,
        "criteria": criteria,
        "feedback": verdict.feedback,
        "review": pointers.locations(behind_missed) if verdict.label != "correct" else [],
        "confidence": verdict.confidence,
        "needs_review": needs_review,
        "grader": {"name": graded.grader_name, "version": graded.grader_version},
    }


async def grading_agreement(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID
) -> AgreementReport:
    """How far the grader agrees with the teachers, per exercise and over the course."""
    await get_course(session, tenant_id, course_id)
    reviewed = await SubmissionRepository(session).reviewed_for_course(tenant_id, course_id)
    by_exercise: dict[uuid.UUID, list[Submission]] = {}
    for submission in reviewed:
        by_exercise.setdefault(submission.exercise_id, []).append(submission)
    return AgreementReport(
        course_id=course_id,
        overall=AgreementFigures(**_agreement(reviewed)),
        exercises=[
            ExerciseAgreement(exercise_id=exercise_id, **_agreement(submissions))
            for exercise_id, submissions in by_exercise.items()
        ],
    )


def _agreement(submissions: Sequence[Submission]) -> dict[str, Any]:
    machine = [s.score or 0.0 for s in submissions]
    teacher = [s.review_score or 0.0 for s in submissions]
    # On a shared scale: exercises may differ in max_points.
    machine_share = [m / s.max_points for m, s in zip(machine, submissions, strict=True)]
    teacher_share = [t / s.max_points for t, s in zip(teacher, submissions, strict=True)]
    same_label = sum(
        label_for(m) == label_for(t) for m, t in zip(machine_share, teacher_share, strict=True)
    )
    bands = 5
    return {
        "reviewed": len(submissions),
        "pearson_r": pearson(machine_share, teacher_share),
        "rmse": rmse(machine, teacher),
        "label_agreement": same_label / len(submissions) if submissions else None,
        "qwk": quadratic_weighted_kappa(
            score_bands([m * bands for m in machine_share], bands),
            score_bands([t * bands for t in teacher_share], bands),
            bands + 1,
        ),
    }


def _best_score(submission: Submission) -> float:
    if submission.review_score is not None:
        return submission.review_score
    return submission.score or 0.0


async def learner_progress(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID, learner_ref: str
) -> LearnerProgress:
    """Per lesson of the published version: best score per exercise, concepts still weak,
    where to review them."""
    published = await published_structure(session, tenant_id, course_id)
    graded = await SubmissionRepository(session).graded_for_learner(
        tenant_id, course_id, learner_ref
    )
    best: dict[uuid.UUID, Submission] = {}
    attempts: dict[uuid.UUID, int] = {}
    for submission in graded:
        attempts[submission.exercise_id] = attempts.get(submission.exercise_id, 0) + 1
        current = best.get(submission.exercise_id)
        if current is None or _best_score(submission) >= _best_score(current):
            best[submission.exercise_id] = submission
    lessons = published.exercise_lessons(list(best))
    concepts = {str(c.id): c for c in published.concepts()}
    by_lesson: dict[uuid.UUID, LessonProgress] = {}
    order: dict[uuid.UUID, tuple[int, int]] = {}
    for exercise_id, submission in best.items():
        if exercise_id not in lessons:
            continue  # the exercise is gone from the course's structure
        lesson, module_position = lessons[exercise_id]
        order[lesson.id] = (module_position, lesson.position)
        progress = by_lesson.setdefault(
            lesson.id,
            LessonProgress(
                lesson_id=lesson.id, title=lesson.title, exercises=[], weak_concepts=[], review=[]
            ),
        )
        progress.exercises.append(
            ExerciseProgress(
                exercise_id=exercise_id,
                best_score=_best_score(submission),
                max_points=submission.max_points,
                attempts=attempts[exercise_id],
            )
        )
        verdict = Verdict.model_validate(submission.verdict)
        if label_for(_best_score(submission) / submission.max_points) == "correct":
            continue
        known = {w.concept_id for w in progress.weak_concepts}
        for criterion in verdict.criteria:
            if criterion.status == "met":
                continue
            for concept_id in criterion.concept_ids:
                concept = concepts.get(str(concept_id))
                if concept is not None and concept_id not in known:
                    known.add(concept_id)
                    progress.weak_concepts.append(
                        WeakConcept(concept_id=concept_id, title=concept.title)
                    )
        progress.review += [r for r in verdict.review if r not in progress.review]
    await _add_quiz_progress(
        session, tenant_id, course_id, learner_ref, published, by_lesson, order
    )
    return LearnerProgress(
        course_id=course_id,
        learner_ref=learner_ref,
        submissions=len(graded),
        lessons=sorted(by_lesson.values(), key=lambda p: order[p.lesson_id]),
    )


async def erase_learner(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID, learner_ref: str
) -> int:
    """Delete every submission and quiz attempt of the learner in the course (an erasure
    request)."""
    await get_course(session, tenant_id, course_id)
    erased = await SubmissionRepository(session).delete_for_learner(
        tenant_id, course_id, learner_ref
    )
    erased += await QuizAttemptRepository(session).delete_for_learner(
        tenant_id, course_id, learner_ref
    )
    await session.flush()
    return erased


async def _add_quiz_progress(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    course_id: uuid.UUID,
    learner_ref: str,
    published: PublishedStructure,
    by_lesson: dict[uuid.UUID, LessonProgress],
    order: dict[uuid.UUID, tuple[int, int]],
) -> None:
    """The best quiz attempt per lesson still in the course, beside its exercises."""
    attempts = await QuizAttemptRepository(session).for_learner(tenant_id, course_id, learner_ref)
    if not attempts:
        return
    lessons = {lesson.id: (lesson, module) for lesson, module in published.lessons()}
    for attempt in attempts:
        if attempt.lesson_id not in lessons:
            continue  # the lesson is gone from the course's structure
        lesson, module_position = lessons[attempt.lesson_id]
        order[lesson.id] = (module_position, lesson.position)
        progress = by_lesson.setdefault(
            lesson.id,
            LessonProgress(
                lesson_id=lesson.id, title=lesson.title, exercises=[], weak_concepts=[], review=[]
            ),
        )
        quiz = progress.quiz
        if quiz is None:
            progress.quiz = QuizProgress(
                best_score=attempt.score, max_score=attempt.max_score, attempts=1
            )
            continue
        quiz.attempts += 1
        if attempt.score / attempt.max_score >= quiz.best_score / quiz.max_score:
            quiz.best_score, quiz.max_score = attempt.score, attempt.max_score


async def _lesson_quiz(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID, lesson_id: uuid.UUID
) -> tuple[list[QuizItem], dict[uuid.UUID, Concept]]:
    """The quiz of a lesson of the published version (what learners see)."""
    published = await published_structure(session, tenant_id, course_id)
    if lesson_id not in {lesson.id for lesson, _ in published.lessons()}:
        raise NotFoundError("Lesson not found")
    concepts = sorted(published.lesson_concepts(lesson_id), key=lambda c: c.position)
    items = build_quiz(lesson_id, [QuizConcept(c.id, c.title, c.definition) for c in concepts])
    return items, {c.id: c for c in concepts}


async def lesson_quiz(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID, lesson_id: uuid.UUID
) -> QuizOut:
    """The lesson's quiz items, without their answers."""
    items, _ = await _lesson_quiz(session, tenant_id, course_id, lesson_id)
    return QuizOut(
        course_id=course_id,
        lesson_id=lesson_id,
        items=[
            QuizItemOut(
                id=item.id,
                kind=item.kind.value,
                concept_id=item.concept_id,
                prompt=item.prompt,
                options=[QuizOptionOut(id=o.id, text=o.text) for o in item.options],
            )
            for item in items
        ],
    )


async def answer_quiz(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    course_id: uuid.UUID,
    lesson_id: uuid.UUID,
    body: QuizAnswersIn,
) -> QuizResult:
    """Grade a learner's quiz answers exactly, store the attempt, point wrong ones to the course."""
    items, concepts = await _lesson_quiz(session, tenant_id, course_id, lesson_id)
    try:
        results = grade_quiz(items, [(a.item_id, a.choice) for a in body.answers])
    except QuizAnswerError as exc:
        raise InvalidInputError(str(exc), loc=("body", "answers", exc.index, exc.field)) from exc
    material_ids = await _material_ids(session, tenant_id, course_id)
    outcome = [
        QuizItemResult(
            item_id=r.item.id,
            concept_id=r.item.concept_id,
            choice=r.choice,
            correct=r.correct,
            review=[]
            if r.correct
            else [
                ReviewLocation.model_validate(location)
                for location in course_locations([concepts[r.item.concept_id]], material_ids)
            ],
        )
        for r in results
    ]
    attempt = QuizAttempt(
        tenant_id=tenant_id,
        course_id=course_id,
        lesson_id=lesson_id,
        learner_ref=body.learner_ref,
        score=float(sum(r.correct for r in results)),
        max_score=float(len(items)),
        results=[
            {"item_id": str(r.item.id), "concept_id": str(r.item.concept_id), "correct": r.correct}
            for r in results
        ],
    )
    session.add(attempt)
    await session.flush()
    await session.flush()
    return QuizResult(
        attempt_id=attempt.id,
        course_id=course_id,
        lesson_id=lesson_id,
        learner_ref=attempt.learner_ref,
        score=attempt.score,
        max_score=attempt.max_score,
        items=outcome,
    )
