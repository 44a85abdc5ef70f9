"""Course queries, always scoped to one tenant."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Uuid, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from course_supporter.courses.models import (
    Concept,
    Course,
    CourseStructureRecord,
    Exercise,
    Lesson,
    Module,
)
from course_supporter.db import Database, Repository
from course_supporter.materials.models import Material

# Built once: constructing this select per request cost more than running it.
_REVISION_STAMP = (
    select(
        Course.updated_at,
        CourseStructureRecord.version,
        func.count(Material.id),
        func.max(Material.updated_at),
    )
    .outerjoin(CourseStructureRecord, CourseStructureRecord.course_id == Course.id)
    .outerjoin(Material, Material.course_id == Course.id)
    .where(
        Course.tenant_id == bindparam("tenant_id", type_=Uuid()),
        Course.id == bindparam("course_id", type_=Uuid()),
    )
    .group_by(Course.updated_at, CourseStructureRecord.version)
)


class RevisionStamp(NamedTuple):
    """What changes whenever the course, its materials or its structure change."""

    course_updated_at: datetime
    structure_version: int | None
    material_count: int
    materials_updated_at: datetime | None


async def revision_stamp(
    db: Database, tenant_id: uuid.UUID, course_id: uuid.UUID
) -> RevisionStamp | None:
    """None if the tenant has no such course. One round trip, no document read."""
    row = await db.read_row(_REVISION_STAMP, {"tenant_id": tenant_id, "course_id": course_id})
    return None if row is None else RevisionStamp._make(row)


class CourseRepository(Repository[Course]):
    model = Course

    async def lock_for_update(self, course_id: uuid.UUID) -> None:
        """Hold the course's row until the transaction ends: writers of its structure queue up
        behind each other (PostgreSQL row lock; SQLite serialises writers anyway)."""
        await self.session.execute(
            select(Course.id).where(Course.id == course_id).with_for_update()
        )

    async def get_for_tenant(self, tenant_id: uuid.UUID, course_id: uuid.UUID) -> Course | None:
        return await self.session.scalar(
            select(Course).where(Course.tenant_id == tenant_id, Course.id == course_id)
        )

    async def page_for_tenant(
        self, tenant_id: uuid.UUID, *, limit: int, after: uuid.UUID | None
    ) -> Sequence[Course]:
        statement = select(Course).where(Course.tenant_id == tenant_id)
        if after is not None:
            statement = statement.where(Course.id < after)
        return (await self.session.scalars(statement.order_by(Course.id.desc()).limit(limit))).all()


class ExerciseRepository(Repository[Exercise]):
    model = Exercise

    async def get_for_tenant(
        self, tenant_id: uuid.UUID, exercise_id: uuid.UUID
    ) -> tuple[Exercise, uuid.UUID] | None:
        """The exercise and its course's id, if the tenant owns it."""
        row = (
            await self.session.execute(
                select(Exercise, Course.id)
                .join(Lesson, Lesson.id == Exercise.lesson_id)
                .join(Course, Course.id == Lesson.course_id)
                .where(Exercise.id == exercise_id, Course.tenant_id == tenant_id)
            )
        ).one_or_none()
        return None if row is None else (row[0], row[1])


async def concepts_of_course(session: AsyncSession, course_id: uuid.UUID) -> Sequence[Concept]:
    """Every concept of the course's structure, lesson by lesson."""
    statement = (
        select(Concept)
        .join(Lesson, Lesson.id == Concept.lesson_id)
        .where(Lesson.course_id == course_id)
        .order_by(Lesson.id, Concept.position)
    )
    return (await session.scalars(statement)).all()


async def lessons_of_course(
    session: AsyncSession, course_id: uuid.UUID
) -> Sequence[tuple[Lesson, int]]:
    """The course's lessons with their module's position, in course order."""
    rows = await session.execute(
        select(Lesson, Module.position)
        .join(Module, Module.id == Lesson.module_id)
        .where(Lesson.course_id == course_id)
        .order_by(Module.position, Lesson.position)
    )
    return [(lesson, position) for lesson, position in rows.tuples()]


async def lessons_of_exercises(
    session: AsyncSession, course_id: uuid.UUID, exercise_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[Lesson, int]]:
    """The lesson (and its module's position) of each exercise of the course in `exercise_ids`."""
    rows = await session.execute(
        select(Exercise.id, Lesson, Module.position)
        .join(Lesson, Lesson.id == Exercise.lesson_id)
        .join(Module, Module.id == Lesson.module_id)
        .where(Lesson.course_id == course_id, Exercise.id.in_(exercise_ids))
    )
    return {exercise_id: (lesson, module) for exercise_id, lesson, module in rows.tuples()}
