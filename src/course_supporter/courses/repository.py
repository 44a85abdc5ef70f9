"""Course queries, always scoped to one tenant."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select

from course_supporter.courses.models import Course, CourseStructureRecord
from course_supporter.db import Repository
from course_supporter.materials.models import Material


class CourseRepository(Repository[Course]):
    model = Course

    async def get_for_tenant(self, tenant_id: uuid.UUID, course_id: uuid.UUID) -> Course | None:
        return await self.session.scalar(
            select(Course).where(Course.tenant_id == tenant_id, Course.id == course_id)
        )

    async def revision_stamp(self, tenant_id: uuid.UUID, course_id: uuid.UUID) -> str | None:
        """What changes whenever the course, its materials or its structure change; None if
        the tenant has no such course. One query, no document read."""
        row = (
            await self.session.execute(
                select(
                    Course.updated_at,
                    CourseStructureRecord.version,
                    func.count(Material.id),
                    func.max(Material.updated_at),
                )
                .outerjoin(CourseStructureRecord, CourseStructureRecord.course_id == Course.id)
                .outerjoin(Material, Material.course_id == Course.id)
                .where(Course.tenant_id == tenant_id, Course.id == course_id)
                .group_by(Course.updated_at, CourseStructureRecord.version)
            )
        ).one_or_none()
        return None if row is None else "|".join(str(value) for value in row)

    async def page_for_tenant(
        self, tenant_id: uuid.UUID, *, limit: int, after: uuid.UUID | None
    ) -> Sequence[Course]:
        statement = select(Course).where(Course.tenant_id == tenant_id)
        if after is not None:
            statement = statement.where(Course.id < after)
        return (await self.session.scalars(statement.order_by(Course.id.desc()).limit(limit))).all()
