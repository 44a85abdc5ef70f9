"""Course queries, always scoped to one tenant."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select

from course_supporter.courses.models import Course
from course_supporter.db import Repository


class CourseRepository(Repository[Course]):
    model = Course

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
