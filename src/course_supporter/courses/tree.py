"""The stored structure as a tree of items (ids, origins, order) and back: what regeneration
merges into. Saving rewrites the rows with the tree's ids, so kept items keep theirs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

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
)
from course_supporter.courses.repository import CourseRepository
from course_supporter.courses.structure import (
    DEFAULT_MAX_POINTS,
    SavedStructure,
    lesson_document,
    module_document,
    render_document,
)
from course_supporter.db import new_id, utcnow
from course_supporter.structuring.schemas import StructureNode

MODULE_FIELDS = (
    "title",
    "description",
    "learning_goal",
    "expected_knowledge",
    "expected_skills",
    "difficulty",
)
LESSON_FIELDS = (
    "title",
    "video_material_id",
    "video_start",
    "video_end",
    "slides_material_id",
    "slide_start",
    "slide_end",
)
CONCEPT_FIELDS = (
    "title",
    "definition",
    "examples",
    "timecodes",
    "slide_references",
    "page_references",
    "web_references",
)
EXERCISE_FIELDS = (
    "description",
    "reference_solution",
    "grading_criteria",
    "difficulty",
    "max_points",
    "concept_ids",
)
_MATERIAL_FIELDS = ("video_material_id", "slides_material_id")


def _fields(row: object, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


async def load_tree(session: AsyncSession, course_id: uuid.UUID) -> list[StructureNode]:
    """The course's modules as it stands, in order, every item with its id and origin."""
    modules = (
        await session.scalars(
            select(Module).where(Module.course_id == course_id).order_by(Module.position)
        )
    ).all()
    lessons = (
        await session.scalars(
            select(Lesson)
            .where(Lesson.course_id == course_id)
            .order_by(Lesson.position)
            .options(selectinload(Lesson.concepts), selectinload(Lesson.exercises))
        )
    ).all()
    by_module: dict[uuid.UUID, list[StructureNode]] = {}
    for lesson in lessons:
        by_module.setdefault(lesson.module_id, []).append(
            StructureNode(
                "lesson",
                _fields(lesson, LESSON_FIELDS),
                lesson.origin,
                lesson.id,
                [
                    *(
                        StructureNode("concept", _fields(c, CONCEPT_FIELDS), c.origin, c.id)
                        for c in lesson.concepts
                    ),
                    *(
                        StructureNode("exercise", _fields(e, EXERCISE_FIELDS), e.origin, e.id)
                        for e in lesson.exercises
                    ),
                ],
            )
        )
    return [
        StructureNode(
            "module",
            _fields(module, MODULE_FIELDS),
            module.origin,
            module.id,
            by_module.get(module.id, []),
        )
        for module in modules
    ]


@dataclass(frozen=True)
class SavedTree:
    saved: SavedStructure
    record: CourseStructureRecord


async def save_tree(
    session: AsyncSession,
    course: Course,
    modules: list[StructureNode],
    *,
    strategy: str | None,
    job_id: uuid.UUID | None,
) -> SavedTree:
    """Rewrite the course's rows from `modules` in the caller's transaction, positions
    renumbered, and store the next version of the read document."""
    await CourseRepository(session).lock_for_update(course.id)
    await session.execute(delete(Module).where(Module.course_id == course.id))
    await session.flush()
    record = await session.get(CourseStructureRecord, course.id)
    version = (record.version if record else 0) + 1
    levels: tuple[list[Any], list[Any], list[Any]] = ([], [], [])
    modules_out: list[dict[str, Any]] = []
    counts = {"lessons": 0, "concepts": 0, "exercises": 0}
    for m_pos, module in enumerate(modules, start=1):
        module_row = Module(
            id=module.id or new_id(),
            course_id=course.id,
            position=m_pos,
            origin=module.origin,
            **_pick(module, MODULE_FIELDS),
        )
        levels[0].append(module_row)
        lessons_out = []
        for l_pos, lesson in enumerate(module.children_of("lesson"), start=1):
            lesson_row = Lesson(
                id=lesson.id or new_id(),
                module_id=module_row.id,
                course_id=course.id,
                position=l_pos,
                origin=lesson.origin,
                **_pick(lesson, LESSON_FIELDS),
            )
            concepts = [
                Concept(
                    id=c.id or new_id(),
                    lesson_id=lesson_row.id,
                    position=pos,
                    origin=c.origin,
                    **_pick(c, CONCEPT_FIELDS),
                )
                for pos, c in enumerate(lesson.children_of("concept"), start=1)
            ]
            exercises = [
                Exercise(
                    id=e.id or new_id(),
                    lesson_id=lesson_row.id,
                    position=pos,
                    origin=e.origin,
                    **_pick(e, EXERCISE_FIELDS),
                )
                for pos, e in enumerate(lesson.children_of("exercise"), start=1)
            ]
            levels[1].append(lesson_row)
            levels[2].extend([*concepts, *exercises])
            counts["lessons"] += 1
            counts["concepts"] += len(concepts)
            counts["exercises"] += len(exercises)
            lessons_out.append(lesson_document(lesson_row, concepts, exercises))
        modules_out.append(module_document(module_row, lessons_out))
    for rows in levels:
        session.add_all(rows)
        await session.flush()
    document = {
        "version": version,
        "generated_at": utcnow().isoformat(),
        "strategy": strategy,
        "title": course.title,
        "description": course.description or "",
        "learning_goal": course.learning_goal or "",
        "expected_knowledge": course.expected_knowledge,
        "expected_skills": course.expected_skills,
        "modules": modules_out,
    }
    text = render_document(document)
    if record is None:
        record = CourseStructureRecord(
            course_id=course.id,
            version=version,
            document_json=text,
            strategy=strategy,
            job_id=job_id,
        )
        session.add(record)
    else:
        record.version, record.document_json = version, text
        record.strategy, record.job_id, record.generated_at = strategy, job_id, utcnow()
    await session.flush()
    saved = SavedStructure(version=version, modules=len(modules_out), **counts)
    return SavedTree(saved, record)


def _pick(node: StructureNode, names: tuple[str, ...]) -> dict[str, Any]:
    """The node's fields as column values: material ids as UUIDs, an exercise's defaults."""
    values = {name: node.fields.get(name) for name in names if name in node.fields}
    for name in _MATERIAL_FIELDS:
        if isinstance(values.get(name), str):
            values[name] = uuid.UUID(values[name])
    if node.kind == "exercise":
        values.setdefault("max_points", DEFAULT_MAX_POINTS)
        values["max_points"] = values["max_points"] or DEFAULT_MAX_POINTS
        values["concept_ids"] = values.get("concept_ids") or []
    return values
