"""The generated structure of a course: stored as rows and as one versioned read document."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from course_supporter.courses.models import (
    Concept,
    Course,
    CourseStructureRecord,
    Exercise,
    Lesson,
    Module,
    Origin,
)
from course_supporter.courses.repository import CourseRepository
from course_supporter.db import new_id, utcnow
from course_supporter.errors import NotFoundError
from course_supporter.structuring.schemas import CourseStructure

DEFAULT_MAX_POINTS = 5.0


@dataclass(frozen=True)
class SavedStructure:
    version: int
    modules: int
    lessons: int
    concepts: int
    exercises: int


async def replace_structure(
    session: AsyncSession,
    course: Course,
    structure: CourseStructure,
    *,
    strategy: str | None,
    job_id: uuid.UUID | None,
) -> SavedStructure:
    """Swap the course's structure for `structure` in the caller's transaction (all or nothing).

    Two jobs replacing one course's structure at once would each delete the rows they saw and
    insert their own, leaving both sets; the row lock makes the second wait for the first.
    """
    await CourseRepository(session).lock_for_update(course.id)
    await session.execute(delete(Module).where(Module.course_id == course.id))
    record = await session.get(CourseStructureRecord, course.id)
    version = (record.version if record else 0) + 1
    counts = {"lessons": 0, "concepts": 0, "exercises": 0}
    # Rows are inserted level by level: the tables have no ORM relationships to order them.
    levels: tuple[list[Any], list[Any], list[Any]] = ([], [], [])
    modules_out: list[dict[str, Any]] = []
    for m_pos, module in enumerate(structure.modules, start=1):
        module_row = Module(
            id=new_id(),
            course_id=course.id,
            position=m_pos,
            title=module.title,
            description=module.description,
            learning_goal=module.learning_goal,
            expected_knowledge=module.expected_knowledge,
            expected_skills=module.expected_skills,
            difficulty=module.difficulty,
            origin=Origin.GENERATED,
        )
        levels[0].append(module_row)
        lessons_out = []
        for l_pos, lesson in enumerate(module.lessons, start=1):
            lesson_row = Lesson(
                id=new_id(),
                module_id=module_row.id,
                course_id=course.id,
                position=l_pos,
                title=lesson.title,
                video_material_id=lesson.video_material_id,
                video_start=lesson.video_start,
                video_end=lesson.video_end,
                slides_material_id=lesson.slides_material_id,
                slide_start=lesson.slide_start,
                slide_end=lesson.slide_end,
                origin=Origin.GENERATED,
            )
            levels[1].append(lesson_row)
            concepts = [
                Concept(
                    id=new_id(),
                    lesson_id=lesson_row.id,
                    position=pos,
                    origin=Origin.GENERATED,
                    **c.model_dump(mode="json"),
                )
                for pos, c in enumerate(lesson.concepts, start=1)
            ]
            exercises = [
                Exercise(
                    id=new_id(),
                    lesson_id=lesson_row.id,
                    position=pos,
                    # Set here, not by the column default: the document is rendered before flush.
                    max_points=DEFAULT_MAX_POINTS,
                    concept_ids=[],
                    origin=Origin.GENERATED,
                    **exercise.model_dump(mode="json"),
                )
                for pos, exercise in enumerate(lesson.exercises, start=1)
            ]
            levels[2].extend([*concepts, *exercises])
            counts["lessons"] += 1
            counts["concepts"] += len(concepts)
            counts["exercises"] += len(exercises)
            lessons_out.append(lesson_document(lesson_row, concepts, exercises))
        modules_out.append(
            {
                "id": str(module_row.id),
                "position": m_pos,
                **module.model_dump(mode="json", exclude={"lessons"}),
                "origin": Origin.GENERATED.value,
                "lessons": lessons_out,
            }
        )
    for rows in levels:
        session.add_all(rows)
        await session.flush()
    document = {
        "version": version,
        "generated_at": utcnow().isoformat(),
        "strategy": strategy,
        **structure.model_dump(mode="json", exclude={"modules", "format_version"}),
        "modules": modules_out,
    }
    if record is None:
        session.add(
            CourseStructureRecord(
                course_id=course.id,
                version=version,
                document_json=render_document(document),
                strategy=strategy,
                job_id=job_id,
            )
        )
    else:
        record.version, record.document_json = version, render_document(document)
        record.strategy, record.job_id, record.generated_at = strategy, job_id, utcnow()
    _fill_empty_course_fields(course, structure)
    return SavedStructure(version=version, modules=len(modules_out), **counts)


def _fill_empty_course_fields(course: Course, structure: CourseStructure) -> None:
    course.description = course.description or structure.description or None
    course.learning_goal = course.learning_goal or structure.learning_goal or None
    course.expected_knowledge = course.expected_knowledge or structure.expected_knowledge
    course.expected_skills = course.expected_skills or structure.expected_skills


def module_document(module: Module, lessons: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": str(module.id),
        "position": module.position,
        "title": module.title,
        "description": module.description,
        "learning_goal": module.learning_goal,
        "expected_knowledge": module.expected_knowledge,
        "expected_skills": module.expected_skills,
        "difficulty": module.difficulty,
        "origin": module.origin,
        "lessons": lessons,
    }


def lesson_document(
    lesson: Lesson, concepts: list[Concept], exercises: list[Exercise]
) -> dict[str, Any]:
    return {
        "id": str(lesson.id),
        "module_id": str(lesson.module_id),
        "position": lesson.position,
        "title": lesson.title,
        "video_material_id": _str_or_none(lesson.video_material_id),
        "video_start": lesson.video_start,
        "video_end": lesson.video_end,
        "slides_material_id": _str_or_none(lesson.slides_material_id),
        "slide_start": lesson.slide_start,
        "slide_end": lesson.slide_end,
        "origin": lesson.origin,
        "concepts": [concept_document(c) for c in concepts],
        "exercises": [exercise_document(e) for e in exercises],
    }


def concept_document(concept: Concept) -> dict[str, Any]:
    return {
        "id": str(concept.id),
        "position": concept.position,
        "title": concept.title,
        "definition": concept.definition,
        "examples": concept.examples,
        "timecodes": concept.timecodes,
        "slide_references": concept.slide_references,
        "page_references": concept.page_references,
        "web_references": concept.web_references,
        "origin": concept.origin,
    }


def exercise_document(exercise: Exercise) -> dict[str, Any]:
    return {
        "id": str(exercise.id),
        "position": exercise.position,
        "description": exercise.description,
        "reference_solution": exercise.reference_solution,
        "criteria": exercise.grading_criteria,
        "difficulty": exercise.difficulty,
        "max_points": exercise.max_points,
        "concept_ids": exercise.concept_ids,
        "origin": exercise.origin,
    }


def _str_or_none(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None


def render_document(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


class StoredVersions(Protocol):
    """Where the course's past versions are kept: authoring's (it builds on courses, so courses
    is handed it by its callers, the HTTP and CLI edges, and imports nothing of it)."""

    async def version_document(
        self, session: AsyncSession, course_id: uuid.UUID, number: int
    ) -> str | None:
        """One stored version's document as JSON text; None once it is pruned."""

    async def draft_fingerprints(
        self, session: AsyncSession, course_id: uuid.UUID
    ) -> dict[str, str] | None:
        """The material fingerprints the draft was built from; None without a version."""


@dataclass(frozen=True)
class StoredStructure:
    """The draft's version, the published one, and the document of the version asked for."""

    version: int | None
    published_version: int | None
    document_json: str | None


async def structure_document(
    session: AsyncSession,
    versions: StoredVersions,
    course_id: uuid.UUID,
    number: int | None = None,
) -> StoredStructure:
    """The draft's document (or version `number`'s) as JSON text, never parsed on the read
    path; a `number` that is not stored (never made, or pruned) is a 404."""
    row = (
        await session.execute(
            select(
                CourseStructureRecord.version,
                CourseStructureRecord.published_version,
                CourseStructureRecord.document_json,
            ).where(CourseStructureRecord.course_id == course_id)
        )
    ).one_or_none()
    if row is None:
        if number is not None:
            raise NotFoundError(f"Version {number} not found")
        return StoredStructure(None, None, None)
    if number is None or number == row.version:
        return StoredStructure(row.version, row.published_version, row.document_json)
    document = await versions.version_document(session, course_id, number)
    if document is None:
        raise NotFoundError(f"Version {number} not found (it never existed or was pruned)")
    return StoredStructure(row.version, row.published_version, document)


async def get_lesson(
    session: AsyncSession,
    versions: StoredVersions,
    tenant_id: uuid.UUID,
    course_id: uuid.UUID,
    lesson_id: uuid.UUID,
    *,
    number: int | None = None,
) -> dict[str, Any]:
    """The lesson in the draft, or as version `number` shows it."""
    if number is not None:
        if await CourseRepository(session).get_for_tenant(tenant_id, course_id) is None:
            raise NotFoundError("Course not found")
        stored = await structure_document(session, versions, course_id, number)
        document = json.loads(stored.document_json or "{}")
        for module in document.get("modules", []):
            for item in module["lessons"]:
                if item["id"] == str(lesson_id):
                    return dict(item)
        raise NotFoundError(f"Lesson not found in version {number}")
    lesson = await session.scalar(
        select(Lesson)
        .join(Course, Course.id == Lesson.course_id)
        .where(Lesson.id == lesson_id, Lesson.course_id == course_id, Course.tenant_id == tenant_id)
        .options(selectinload(Lesson.concepts), selectinload(Lesson.exercises))
    )
    if lesson is None:
        raise NotFoundError("Lesson not found")
    return lesson_document(lesson, list(lesson.concepts), list(lesson.exercises))
