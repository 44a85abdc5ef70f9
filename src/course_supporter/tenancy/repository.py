"""Queries on tenants and API keys."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from sqlalchemy import select, update

from course_supporter.db import Repository
from course_supporter.tenancy.models import ApiKey, Tenant


class TenantRepository(Repository[Tenant]):
    model = Tenant

    async def get_by_name(self, name: str) -> Tenant | None:
        return await self.session.scalar(select(Tenant).where(Tenant.name == name))

    async def list_all(self) -> Sequence[Tenant]:
        return (await self.session.scalars(select(Tenant).order_by(Tenant.name))).all()

    async def review_threshold(self, tenant_id: uuid.UUID) -> float | None:
        return await self.session.scalar(
            select(Tenant.review_threshold).where(Tenant.id == tenant_id)
        )


class ApiKeyRepository(Repository[ApiKey]):
    model = ApiKey

    async def get_by_hash_with_tenant(self, key_hash: str) -> tuple[ApiKey, Tenant] | None:
        row = (
            await self.session.execute(
                select(ApiKey, Tenant)
                .join(Tenant, Tenant.id == ApiKey.tenant_id)
                .where(ApiKey.key_hash == key_hash)
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def get_with_tenants(
        self, key_ids: Collection[uuid.UUID]
    ) -> Sequence[tuple[ApiKey, Tenant]]:
        rows = await self.session.execute(
            select(ApiKey, Tenant)
            .join(Tenant, Tenant.id == ApiKey.tenant_id)
            .where(ApiKey.id.in_(key_ids))
        )
        return [(api_key, tenant) for api_key, tenant in rows.tuples()]

    async def find_by_prefix(self, prefix: str) -> Sequence[ApiKey]:
        return (
            await self.session.scalars(select(ApiKey).where(ApiKey.key_prefix.startswith(prefix)))
        ).all()

    async def prefix_taken(self, prefix: str) -> bool:
        found = await self.session.scalar(select(ApiKey.id).where(ApiKey.key_prefix == prefix))
        return found is not None

    async def list_for_tenant(self, tenant_id: uuid.UUID) -> Sequence[ApiKey]:
        return (
            await self.session.scalars(
                select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.created_at)
            )
        ).all()

    async def set_last_used(self, last_used: Mapping[uuid.UUID, datetime]) -> None:
        for key_id, used_at in last_used.items():
            await self.session.execute(
                update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=used_at)
            )
