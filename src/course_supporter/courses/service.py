"""Course rules: every operation is scoped to the calling tenant."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from course_supporter.courses.models import Course
from course_supporter.courses.repository import CourseRepository
from course_supporter.courses.schemas import CourseCreate, CourseUpdate
from course_supporter.errors import NotFoundError
from course_supporter.materials.models import Material
from course_supporter.materials.repository import MaterialRepository
from course_supporter.storage import ObjectStorage, StorageError, course_prefix

log = structlog.get_logger(__name__)


async def create_course(session: AsyncSession, tenant_id: uuid.UUID, data: CourseCreate) -> Course:
    course = await CourseRepository(session).add(Course(tenant_id=tenant_id, **data.model_dump()))
    await session.commit()
    return course


async def get_course(session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID) -> Course:
    course = await CourseRepository(session).get_for_tenant(tenant_id, course_id)
    if course is None:
        raise NotFoundError("Course not found")
    return course


async def list_courses(
    session: AsyncSession, tenant_id: uuid.UUID, *, limit: int, after: uuid.UUID | None
) -> Sequence[Course]:
    return await CourseRepository(session).page_for_tenant(tenant_id, limit=limit, after=after)


async def update_course(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID, data: CourseUpdate
) -> Course:
    course = await get_course(session, tenant_id, course_id)
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is None and field in {"title", "expected_knowledge", "expected_skills"}:
            continue
        setattr(course, field, value)
    await session.commit()
    return course


async def delete_course(
    session: AsyncSession, storage: ObjectStorage, tenant_id: uuid.UUID, course_id: uuid.UUID
) -> None:
    """Delete the rows (materials cascade), then every stored object under the course's prefix."""
    course = await get_course(session, tenant_id, course_id)
    await CourseRepository(session).delete(course)
    await session.commit()
    prefix = course_prefix(tenant_id, course_id)
    try:
        await storage.delete_prefix(prefix)
    except StorageError:
        log.exception("course_files_not_removed", prefix=prefix)


async def course_materials(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID
) -> Sequence[Material]:
    return await MaterialRepository(session).page_for_course(
        tenant_id, course_id, limit=10_000, after=None
    )
