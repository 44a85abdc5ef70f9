"""Mentoring rules: accept answers, grade them as a job, point learners back to the course."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from course_supporter.config import Settings
from course_supporter.courses.models import Concept, Exercise
from course_supporter.courses.service import (
    course_concepts,
    exercise_lessons,
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
from course_supporter.materials.models import Material
from course_supporter.mentoring.agreement import (
    pearson,
    quadratic_weighted_kappa,
    rmse,
    score_bands,
)
from course_supporter.mentoring.models import Submission, SubmissionStatus
from course_supporter.mentoring.offline import (
    GRADER_NAME,
    GRADER_VERSION,
    GradingQuestion,
    OfflineGrader,
    OfflineVerdict,
    Review,
    content_tokens,
    label_for,
)
from course_supporter.mentoring.repository import SubmissionRepository
from course_supporter.mentoring.schemas import (
    AgreementFigures,
    AgreementReport,
    ExerciseAgreement,
    ExerciseProgress,
    LearnerProgress,
    LessonProgress,
    SubmissionCreate,
    Verdict,
    WeakConcept,
)

GRADE_JOB = "grade_submissions"
REFERENCE_CRITERION = "Covers the reference solution"


async def submit_answers(
    session: AsyncSession,
    settings: Settings,
    tenant_id: uuid.UUID,
    exercise_id: uuid.UUID,
    answers: Sequence[SubmissionCreate],
) -> tuple[Job, list[Submission]]:
    """Store the answers as given and queue one grading job for all of them."""
    exercise, course_id = await get_exercise(session, tenant_id, exercise_id)
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
    await session.commit()
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
    await session.commit()
    return submission


async def grade_queued(
    session: AsyncSession,
    settings: Settings,
    tenant_id: uuid.UUID,
    exercise_id: uuid.UUID,
    submission_ids: Sequence[uuid.UUID],
    on_progress: Callable[[int, int], Awaitable[None]] | None = None,
) -> int:
    """Grade the submissions still queued among `submission_ids`; the caller commits.
    `on_progress(done, total)` hears of each answer graded."""
    repository = SubmissionRepository(session)
    queued = await repository.queued_among(tenant_id, submission_ids)
    if not queued:
        return 0
    exercise, course_id = await get_exercise(session, tenant_id, exercise_id)
    reviews = [
        Review(s.answer, s.review_score)
        for s in await repository.reviewed_for_exercise(tenant_id, exercise_id)
        if s.review_score is not None
    ]
    grader = OfflineGrader(
        GradingQuestion(
            exercise.description,
            exercise.reference_solution,
            tuple(exercise.grading_criteria),
            exercise.max_points,
        ),
        reviews,
    )
    pointers = CoursePointers(
        exercise,
        await course_concepts(session, course_id),
        await _material_ids(session, tenant_id, course_id),
    )
    for done, submission in enumerate(queued, start=1):
        verdict = grader.grade(submission.answer)
        document = verdict_document(verdict, exercise, pointers, settings)
        submission.verdict = document
        submission.score = verdict.score
        submission.status = SubmissionStatus.GRADED
        record_event(
            session,
            tenant_id,
            SUBMISSION_GRADED,
            submission.id,
            {
                "submission_id": str(submission.id),
                "exercise_id": str(exercise_id),
                "course_id": str(course_id),
                "learner_ref": submission.learner_ref,
                "score": verdict.score,
                "max_points": submission.max_points,
                "label": document.get("label"),
                "needs_review": document.get("needs_review"),
            },
        )
        if on_progress is not None:
            await on_progress(done, len(queued))
    return len(queued)


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

    def concepts_for(self, criterion: str) -> list[Concept]:
        """The concepts behind a criterion: those sharing most of its words."""
        candidates = self._linked or self._lesson
        stems = {t.stem for t in content_tokens(criterion)}
        scored = [(len(stems & self._concept_stems[str(c.id)]), c) for c in candidates]
        best = max((score for score, _ in scored), default=0)
        if best == 0:
            return list(self._linked)
        return [c for score, c in scored if score == best]

    def locations(self, concepts: Sequence[Concept]) -> list[dict[str, Any]]:
        """Each concept's references into materials the course still has."""
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
                    if material_id not in self._material_ids or value is None or key in seen:
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
    verdict: OfflineVerdict, exercise: Exercise, pointers: CoursePointers, settings: Settings
) -> dict[str, Any]:
    """The stored verdict: the API's `Verdict` shape as JSON."""
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
    needs_review = verdict.instructs_grader or verdict.confidence < settings.grading_review_below
    return {
        "score": verdict.score,
        "max_points": exercise.max_points,
        "label": verdict.label,
        "criteria": criteria,
        "feedback": verdict.feedback,
        "review": pointers.locations(behind_missed) if verdict.label != "correct" else [],
        "confidence": verdict.confidence,
        "needs_review": needs_review,
        "grader": {"name": GRADER_NAME, "version": GRADER_VERSION},
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
    """Per lesson: best score per exercise, concepts still weak, where to review them."""
    await get_course(session, tenant_id, course_id)
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
    lessons = await exercise_lessons(session, course_id, list(best))
    concepts = {str(c.id): c for c in await course_concepts(session, course_id)}
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
    return LearnerProgress(
        course_id=course_id,
        learner_ref=learner_ref,
        submissions=len(graded),
        lessons=sorted(by_lesson.values(), key=lambda p: order[p.lesson_id]),
    )


async def erase_learner(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID, learner_ref: str
) -> int:
    """Delete every submission of the learner in the course (an erasure request)."""
    await get_course(session, tenant_id, course_id)
    erased = await SubmissionRepository(session).delete_for_learner(
        tenant_id, course_id, learner_ref
    )
    await session.commit()
    return erased
