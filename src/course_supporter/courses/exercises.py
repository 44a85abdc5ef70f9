"""Exercises a tenant authors in a lesson of its course, kept in step with the read document."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from course_supporter.courses.models import Concept, CourseStructureRecord, Exercise, Lesson
from course_supporter.courses.schemas import ExerciseCreate, ExerciseUpdate
from course_supporter.courses.service import get_course
from course_supporter.courses.structure import lesson_document
from course_supporter.errors import InvalidInputError, NotFoundError


async def create_exercise(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID, data: ExerciseCreate
) -> Exercise:
    """Append an exercise to a lesson of the course."""
    lesson = await _lesson(session, tenant_id, course_id, data.lesson_id)
    await _check_concepts(session, course_id, data.concept_ids)
    last = await session.scalar(
        select(func.max(Exercise.position)).where(Exercise.lesson_id == lesson.id)
    )
    exercise = Exercise(
        lesson_id=lesson.id,
        position=(last or 0) + 1,
        description=data.description,
        reference_solution=data.reference_solution,
        grading_criteria=data.grading_criteria,
        difficulty=data.difficulty,
        max_points=data.max_points,
        concept_ids=[str(c) for c in data.concept_ids],
    )
    session.add(exercise)
    await session.flush()
    await _refresh_lesson(session, course_id, lesson)
    await session.commit()
    return exercise


async def update_exercise(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    course_id: uuid.UUID,
    exercise_id: uuid.UUID,
    data: ExerciseUpdate,
) -> Exercise:
    exercise, lesson = await _exercise(session, tenant_id, course_id, exercise_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "concept_ids" in changes:
        await _check_concepts(session, course_id, data.concept_ids or [])
        changes["concept_ids"] = [str(c) for c in changes["concept_ids"]]
    for field, value in changes.items():
        setattr(exercise, field, value)
    await session.flush()
    await _refresh_lesson(session, course_id, lesson)
    await session.commit()
    return exercise


async def delete_exercise(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID, exercise_id: uuid.UUID
) -> None:
    exercise, lesson = await _exercise(session, tenant_id, course_id, exercise_id)
    await session.delete(exercise)
    await session.flush()
    await _refresh_lesson(session, course_id, lesson)
    await session.commit()


async def _lesson(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID, lesson_id: uuid.UUID
) -> Lesson:
    await get_course(session, tenant_id, course_id)
    lesson = await session.scalar(
        select(Lesson).where(Lesson.id == lesson_id, Lesson.course_id == course_id)
    )
    if lesson is None:
        # The URL's course exists; what is wrong is a reference in the body: 422, not 404.
        raise InvalidInputError("lesson_id is not a lesson of this course")
    return lesson


async def _exercise(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID, exercise_id: uuid.UUID
) -> tuple[Exercise, Lesson]:
    await get_course(session, tenant_id, course_id)
    row = (
        await session.execute(
            select(Exercise, Lesson)
            .join(Lesson, Lesson.id == Exercise.lesson_id)
            .where(Exercise.id == exercise_id, Lesson.course_id == course_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError("Exercise not found")
    return row[0], row[1]


async def _check_concepts(
    session: AsyncSession, course_id: uuid.UUID, concept_ids: list[uuid.UUID]
) -> None:
    if not concept_ids:
        return
    found = set(
        await session.scalars(
            select(Concept.id)
            .join(Lesson, Lesson.id == Concept.lesson_id)
            .where(Lesson.course_id == course_id, Concept.id.in_(concept_ids))
        )
    )
    missing = [str(c) for c in concept_ids if c not in found]
    if missing:
        raise InvalidInputError(
            f"not concepts of this course: {', '.join(missing)}", loc=("body", "concept_ids")
        )


async def _refresh_lesson(session: AsyncSession, course_id: uuid.UUID, lesson: Lesson) -> None:
    """Re-render the lesson inside the stored read document and bump its version."""
    record = await session.scalar(
        select(CourseStructureRecord)
        .where(CourseStructureRecord.course_id == course_id)
        .options(undefer(CourseStructureRecord.document_json))
        .with_for_update()
    )
    if record is None:
        return
    concepts = list(
        await session.scalars(
            select(Concept).where(Concept.lesson_id == lesson.id).order_by(Concept.position)
        )
    )
    exercises = list(
        await session.scalars(
            select(Exercise).where(Exercise.lesson_id == lesson.id).order_by(Exercise.position)
        )
    )
    document = json.loads(record.document_json)
    rendered = lesson_document(lesson, concepts, exercises)
    for module in document["modules"]:
        module["lessons"] = [
            rendered if item["id"] == str(lesson.id) else item for item in module["lessons"]
        ]
    record.version += 1
    document["version"] = record.version
    record.document_json = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
