"""Material and slide-mapping queries, always scoped to one tenant."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from sqlalchemy import Select, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from course_supporter.db import Repository, TenantScopedRepository, utcnow
from course_supporter.materials.models import Material, SlideVideoMapping, Upload
from course_supporter.pagination import PageRequest, paged


class MaterialRepository(TenantScopedRepository[Material]):
    model = Material

    def _of_course(self, tenant_id: uuid.UUID, course_id: uuid.UUID) -> Select[Material]:
        return self.scoped(tenant_id).where(Material.course_id == course_id)

    async def get_for_tenant(
        self, tenant_id: uuid.UUID, course_id: uuid.UUID, material_id: uuid.UUID
    ) -> Material | None:
        return await self.get_one_or_none(
            tenant_id, Material.course_id == course_id, Material.id == material_id
        )

    async def lock_for_tenant(
        self, tenant_id: uuid.UUID, course_id: uuid.UUID, material_id: uuid.UUID
    ) -> Material | None:
        """The material, re-read and locked until the transaction ends (PostgreSQL row lock)."""
        return await self.session.scalar(
            select(Material)
            .where(
                Material.tenant_id == tenant_id,
                Material.course_id == course_id,
                Material.id == material_id,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def page_for_course(
        self, tenant_id: uuid.UUID, course_id: uuid.UUID, page: PageRequest
    ) -> Sequence[Material]:
        """One page of the course's materials in upload order (see `pagination.paged`)."""
        return await self.rows(paged(self._of_course(tenant_id, course_id), Material.id, page))

    async def all_for_course(
        self, tenant_id: uuid.UUID, course_id: uuid.UUID
    ) -> Sequence[Material]:
        """Every material of the course, in upload order."""
        return await self.rows(self._of_course(tenant_id, course_id).order_by(Material.id))

    async def fingerprints_for_course(
        self, tenant_id: uuid.UUID, course_id: uuid.UUID
    ) -> Sequence[tuple[uuid.UUID, str | None]]:
        """(id, document_sha256) of the course's done materials, documents left unread."""
        rows = await self.session.execute(
            select(Material.id, Material.document_sha256).where(
                Material.tenant_id == tenant_id,
                Material.course_id == course_id,
                Material.status == "done",
            )
        )
        return [(material_id, fingerprint) for material_id, fingerprint in rows.tuples()]

    async def done_for_course(
        self, tenant_id: uuid.UUID, course_id: uuid.UUID
    ) -> Sequence[Material]:
        """The course's finished materials in the tenant's order: by position, then upload order."""
        return await self.rows(
            self._of_course(tenant_id, course_id)
            .where(Material.status == "done")
            .order_by(Material.position.is_(None), Material.position, Material.id)
        )

    async def unfinished_for_course(
        self, tenant_id: uuid.UUID, course_id: uuid.UUID
    ) -> Sequence[Material]:
        """The course's materials still pending or processing, in upload order."""
        return await self.rows(
            self._of_course(tenant_id, course_id)
            .where(Material.status.in_(("pending", "processing")))
            .order_by(Material.id)
        )


class UploadRepository(TenantScopedRepository[Upload]):
    model = Upload

    async def get_for_tenant(
        self, tenant_id: uuid.UUID, course_id: uuid.UUID, upload_id: uuid.UUID
    ) -> Upload | None:
        return await self.get_one_or_none(
            tenant_id, Upload.course_id == course_id, Upload.id == upload_id
        )

    async def mark_completed(self, upload_id: uuid.UUID, at: datetime) -> bool:
        """Claim the upload for completion; False when another request already completed it."""
        result = await self.session.execute(
            update(Upload)
            .where(Upload.id == upload_id, Upload.completed_at.is_(None))
            .values(completed_at=at)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def delete_by_id(self, upload_id: uuid.UUID) -> None:
        await self.session.execute(delete(Upload).where(Upload.id == upload_id))

    async def expired_before(self, cutoff: datetime, *, limit: int) -> Sequence[Upload]:
        return (
            await self.session.scalars(
                select(Upload).where(Upload.expires_at < cutoff).order_by(Upload.id).limit(limit)
            )
        ).all()


class SlideMappingRepository(Repository[SlideVideoMapping]):
    model = SlideVideoMapping

    async def add_missing(self, course_id: uuid.UUID, timecodes: Mapping[int, str]) -> int:
        """Insert the slides not mapped yet and return how many; a slide already mapped (even
        by a concurrent request) is left as it is instead of violating the unique key."""
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        now = utcnow()
        # Ascending slide order: concurrent requests lock rows in the same order, never deadlock.
        rows = [
            {
                "course_id": course_id,
                "slide_number": n,
                "video_timecode": timecodes[n],
                "created_at": now,
            }
            for n in sorted(timecodes)
        ]
        statement = insert(SlideVideoMapping).values(rows)
        result = await self.session.execute(
            statement.on_conflict_do_nothing(index_elements=["course_id", "slide_number"])
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def timecodes(self, course_id: uuid.UUID, slides: Collection[int]) -> dict[int, str]:
        rows = await self.session.execute(
            select(SlideVideoMapping.slide_number, SlideVideoMapping.video_timecode).where(
                SlideVideoMapping.course_id == course_id,
                SlideVideoMapping.slide_number.in_(slides),
            )
        )
        return {number: timecode for number, timecode in rows.tuples()}

    async def for_course(self, course_id: uuid.UUID) -> Sequence[SlideVideoMapping]:
        return (
            await self.session.scalars(
                select(SlideVideoMapping)
                .where(SlideVideoMapping.course_id == course_id)
                .order_by(SlideVideoMapping.slide_number)
            )
        ).all()
