"""Event and webhook queries, scoped to one tenant where the rows are a tenant's."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from course_supporter.db import Repository
from course_supporter.events.models import Event, EventSequence, Webhook, WebhookDelivery


def next_sequence_statement(dialect: str, tenant_id: uuid.UUID, count: int) -> Any:
    """Take `count` sequences for a tenant in one statement; returns the last one taken.

    The upsert locks the tenant's counter row until the transaction ends, so a tenant's
    events commit in sequence order with no gaps: a reader that has seen N has seen all < N.
    """
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(EventSequence).values(tenant_id=tenant_id, last_sequence=count)
    return statement.on_conflict_do_update(
        index_elements=[EventSequence.tenant_id],
        set_={"last_sequence": EventSequence.last_sequence + count},
    ).returning(EventSequence.last_sequence)


def events_after_statement(tenant_id: uuid.UUID, after: int, limit: int) -> Select[Event]:
    return (
        select(Event)
        .where(Event.tenant_id == tenant_id, Event.sequence > after)
        .order_by(Event.sequence)
        .limit(limit)
    )


def latest_sequence_statement(tenant_id: uuid.UUID) -> Select[int]:
    return select(EventSequence.last_sequence).where(EventSequence.tenant_id == tenant_id)


def prune_events_statements(before: datetime) -> list[Any]:
    return [
        delete(Event).where(Event.created_at < before),
        delete(WebhookDelivery).where(WebhookDelivery.created_at < before),
    ]


class WebhookRepository(Repository[Webhook]):
    model = Webhook

    async def get_for_tenant(self, tenant_id: uuid.UUID, webhook_id: uuid.UUID) -> Webhook | None:
        return await self.session.scalar(
            select(Webhook).where(Webhook.tenant_id == tenant_id, Webhook.id == webhook_id)
        )

    async def list_for_tenant(self, tenant_id: uuid.UUID) -> Sequence[Webhook]:
        statement = select(Webhook).where(Webhook.tenant_id == tenant_id).order_by(Webhook.id)
        return (await self.session.scalars(statement)).all()

    async def count_for_tenant(self, tenant_id: uuid.UUID) -> int:
        statement = select(func.count()).where(Webhook.tenant_id == tenant_id)
        return int(await self.session.scalar(statement) or 0)


def active_webhooks_statement(tenant_id: uuid.UUID) -> Select[Webhook]:
    return select(Webhook).where(Webhook.tenant_id == tenant_id, Webhook.is_active.is_(True))


class DeliveryRepository(Repository[WebhookDelivery]):
    model = WebhookDelivery

    async def list_for_webhook(
        self, tenant_id: uuid.UUID, webhook_id: uuid.UUID, limit: int
    ) -> Sequence[WebhookDelivery]:
        statement = (
            select(WebhookDelivery)
            .where(WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.webhook_id == webhook_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
        return (await self.session.scalars(statement)).all()


async def get_delivery_with_webhook(
    session: AsyncSession, delivery_id: uuid.UUID
) -> tuple[WebhookDelivery, Webhook] | None:
    row = (
        await session.execute(
            select(WebhookDelivery, Webhook)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .where(WebhookDelivery.id == delivery_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])
