"""Material and slide-mapping queries, always scoped to one tenant."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select

from course_supporter.db import Repository
from course_supporter.materials.models import Material, SlideVideoMapping


class MaterialRepository(Repository[Material]):
    model = Material

    async def get_for_tenant(
        self, tenant_id: uuid.UUID, course_id: uuid.UUID, material_id: uuid.UUID
    ) -> Material | None:
        return await self.session.scalar(
            select(Material).where(
                Material.tenant_id == tenant_id,
                Material.course_id == course_id,
                Material.id == material_id,
            )
        )

    async def page_for_course(
        self, tenant_id: uuid.UUID, course_id: uuid.UUID, *, limit: int, after: uuid.UUID | None
    ) -> Sequence[Material]:
        statement = select(Material).where(
            Material.tenant_id == tenant_id, Material.course_id == course_id
        )
        if after is not None:
            statement = statement.where(Material.id > after)
        return (await self.session.scalars(statement.order_by(Material.id).limit(limit))).all()

    async def done_for_course(
        self, tenant_id: uuid.UUID, course_id: uuid.UUID
    ) -> Sequence[Material]:
        """The course's materials that finished ingestion, in creation order."""
        return (
            await self.session.scalars(
                select(Material)
                .where(
                    Material.tenant_id == tenant_id,
                    Material.course_id == course_id,
                    Material.status == "done",
                )
                .order_by(Material.id)
            )
        ).all()


class SlideMappingRepository(Repository[SlideVideoMapping]):
    model = SlideVideoMapping

    async def slide_numbers(self, course_id: uuid.UUID) -> set[int]:
        rows = await self.session.scalars(
            select(SlideVideoMapping.slide_number).where(SlideVideoMapping.course_id == course_id)
        )
        return set(rows)

    async def for_course(self, course_id: uuid.UUID) -> Sequence[SlideVideoMapping]:
        return (
            await self.session.scalars(
                select(SlideVideoMapping)
                .where(SlideVideoMapping.course_id == course_id)
                .order_by(SlideVideoMapping.slide_number)
            )
        ).all()
