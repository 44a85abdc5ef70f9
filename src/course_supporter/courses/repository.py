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
from course_supporter.db import Database, Repository, TenantScopedRepository
from course_supporter.materials.models import Material
from course_supporter.pagination import PageRequest, paged

# Built once: constructing this select per request cost more than running it.
_REVISION_STAMP = (
    select(
        Course.updated_at,
        CourseStructureRecord.version,
        func.count(Material.id),
        func.max(Material.updated_at),
        CourseStructureRecord.published_version,
    )
    .outerjoin(CourseStructureRecord, CourseStructureRecord.course_id == Course.id)
    .outerjoin(Material, Material.course_id == Course.id)
    .where(
        Course.tenant_id == bindparam("tenant_id", type_=Uuid()),
        Course.id == bindparam("course_id", type_=Uuid()),
    )
    .group_by(
        Course.updated_at, CourseStructureRecord.version, CourseStructureRecord.published_version
    )
)


class RevisionStamp(NamedTuple):
    """What changes whenever the course, its materials or its structure change."""

    course_updated_at: datetime
    structure_version: int | None
    material_count: int
    materials_updated_at: datetime | None
    published_version: int | None


async def revision_stamp(
    db: Database, tenant_id: uuid.UUID, course_id: uuid.UUID
) -> RevisionStamp | None:
    """None if the tenant has no such course. One round trip, no document read."""
    row = await db.read_row(_REVISION_STAMP, {"tenant_id": tenant_id, "course_id": course_id})
    return None if row is None else RevisionStamp._make(row)


class CourseRepository(TenantScopedRepository[Course]):
    model = Course

    async def lock_for_update(self, course_id: uuid.UUID) -> None:
        """Hold the course's row until the transaction ends: writers of its structure queue up
        behind each other (PostgreSQL row lock; SQLite serialises writers anyway)."""
        await self.session.execute(
            select(Course.id).where(Course.id == course_id).with_for_update()
        )

    async def lock_structure_record(self, course_id: uuid.UUID) -> None:
        await self.session.execute(
            select(CourseStructureRecord.course_id)
            .where(CourseStructureRecord.course_id == course_id)
            .with_for_update()
        )

    async def has_module(self, course_id: uuid.UUID, module_id: uuid.UUID) -> bool:
        found = await self.session.scalar(
            select(Module.id).where(Module.id == module_id, Module.course_id == course_id)
        )
        return found is not None

    async def has_lesson(self, course_id: uuid.UUID, lesson_id: uuid.UUID) -> bool:
        found = await self.session.scalar(
            select(Lesson.id).where(Lesson.id == lesson_id, Lesson.course_id == course_id)
        )
        return found is not None

    async def tenant_of(self, course_id: uuid.UUID) -> uuid.UUID | None:
        """The course's tenant, whoever it is: for operator tools only."""
        return await self.session.scalar(select(Course.tenant_id).where(Course.id == course_id))

    async def get_for_tenant(self, tenant_id: uuid.UUID, course_id: uuid.UUID) -> Course | None:
        return await self.get_one_or_none(tenant_id, Course.id == course_id)

    async def page_for_tenant(self, tenant_id: uuid.UUID, page: PageRequest) -> Sequence[Course]:
        """One page of the tenant's courses, newest first (see `pagination.paged`)."""
        return await self.rows(paged(self.scoped(tenant_id), Course.id, page, newest_first=True))


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
