"""The event log: events written in the caller's transaction, read back by sequence, pruned;
webhook endpoints, and the deliveries each event fans out to.

`record_event` only notes the event on the session. Just before that session commits, the
notes become rows: the tenant's counter is bumped once for all of them (its row lock is the
last one the transaction takes, held for the shortest time), every active webhook subscribed
to a type gets a delivery and a delivery job, and on PostgreSQL a NOTIFY wakes every process's
stream at commit. A rolled-back transaction leaves no event and spends no sequence.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import event as orm_event
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from course_supporter.config import Settings
from course_supporter.db import Database, new_id, utcnow
from course_supporter.errors import ConflictError, InvalidInputError, NotFoundError
from course_supporter.events.models import DeliveryStatus, Event, Webhook, WebhookDelivery
from course_supporter.events.repository import (
    DeliveryRepository,
    WebhookRepository,
    active_webhooks_statement,
    events_after_statement,
    get_delivery_with_webhook,
    latest_sequence_statement,
    next_sequence_statement,
    prune_events_statements,
)
from course_supporter.events.webhooks import check_webhook_url
from course_supporter.jobs.models import Job
from course_supporter.jobs.registry import JobChange, register_job_listener

log = structlog.get_logger(__name__)

JOB_QUEUED = "job.queued"
JOB_RUNNING = "job.running"
JOB_SUCCEEDED = "job.succeeded"
JOB_FAILED = "job.failed"
MATERIAL_DONE = "material.done"
MATERIAL_ERROR = "material.error"
STRUCTURE_VERSION_CREATED = "structure.version_created"
SUBMISSION_GRADED = "submission.graded"
WEBHOOK_DISABLED = "webhook.disabled"
EVENT_TYPES = (
    JOB_QUEUED,
    JOB_RUNNING,
    JOB_SUCCEEDED,
    JOB_FAILED,
    MATERIAL_DONE,
    MATERIAL_ERROR,
    STRUCTURE_VERSION_CREATED,
    SUBMISSION_GRADED,
    WEBHOOK_DISABLED,
)
WEBHOOK_JOB = "webhook_delivery"
NOTIFY_CHANNEL = "course_supporter_events"
SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)

_PENDING = "course_supporter.events.pending"
_WOKEN = "course_supporter.events.woken"


@dataclass(frozen=True)
class PendingEvent:
    tenant_id: uuid.UUID
    type: str
    subject_id: uuid.UUID | None
    payload: dict[str, Any]


def record_event(
    session: AsyncSession | Session,
    tenant_id: uuid.UUID,
    type: str,
    subject_id: uuid.UUID | None,
    payload: dict[str, Any],
) -> None:
    """Record an event in the caller's transaction: it exists once, and only if, that commits."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    session.info.setdefault(_PENDING, []).append(PendingEvent(tenant_id, type, subject_id, payload))


def _write_pending(session: Session) -> None:
    pending: list[PendingEvent] = session.info.pop(_PENDING, [])
    if not pending:
        return
    dialect = session.get_bind().dialect.name
    by_tenant: dict[uuid.UUID, list[PendingEvent]] = defaultdict(list)
    for item in pending:
        by_tenant[item.tenant_id].append(item)
    for tenant_id, items in by_tenant.items():
        last = session.execute(next_sequence_statement(dialect, tenant_id, len(items))).scalar_one()
        now = utcnow()
        events = [
            Event(
                id=new_id(),
                tenant_id=tenant_id,
                sequence=last - len(items) + 1 + offset,
                type=item.type,
                subject_id=item.subject_id,
                payload=item.payload,
                created_at=now,
            )
            for offset, item in enumerate(items)
        ]
        session.add_all(events)
        _fan_out(session, tenant_id, events)
    if dialect == "postgresql":
        tenants = ",".join(str(tenant_id) for tenant_id in by_tenant)
        session.execute(select(func.pg_notify(NOTIFY_CHANNEL, tenants)))
    session.info[_WOKEN] = set(by_tenant)


def _fan_out(session: Session, tenant_id: uuid.UUID, events: list[Event]) -> None:
    """A delivery and its job per (event, subscribed active webhook). Delivery jobs are plain
    job rows: they emit no job events, or deliveries would beget deliveries."""
    webhooks = session.scalars(active_webhooks_statement(tenant_id)).all()
    for webhook in webhooks:
        for event in events:
            if event.type not in webhook.event_types:
                continue
            delivery = WebhookDelivery(
                id=new_id(),
                tenant_id=tenant_id,
                webhook_id=webhook.id,
                event_type=event.type,
                event_sequence=event.sequence,
                message=webhook_message(event),
                status=DeliveryStatus.PENDING,
                attempts=[],
                created_at=event.created_at,
            )
            session.add(delivery)
            session.add(
                Job(id=new_id(), tenant_id=tenant_id, kind=WEBHOOK_JOB, subject_id=delivery.id)
            )


def webhook_message(event: Event) -> dict[str, Any]:
    """The Standard Webhooks body: type, timestamp, data."""
    return {
        "type": event.type,
        "timestamp": event.created_at.isoformat(),
        "data": {**stream_data(event), "sequence": event.sequence},
    }


def stream_data(event: Event) -> dict[str, Any]:
    return {
        "id": str(event.id),
        "type": event.type,
        "subject_id": None if event.subject_id is None else str(event.subject_id),
        "created_at": event.created_at.isoformat(),
        "payload": event.payload,
    }


_wake_callbacks: list[Callable[[set[uuid.UUID]], None]] = []


def on_local_commit(callback: Callable[[set[uuid.UUID]], None]) -> None:
    """`callback(tenant_ids)` runs after a session of this process commits events."""
    if callback not in _wake_callbacks:
        _wake_callbacks.append(callback)


def remove_local_commit_callback(callback: Callable[[set[uuid.UUID]], None]) -> None:
    if callback in _wake_callbacks:
        _wake_callbacks.remove(callback)


def _after_commit(session: Session) -> None:
    woken: set[uuid.UUID] | None = session.info.pop(_WOKEN, None)
    if woken:
        for callback in list(_wake_callbacks):
            callback(woken)


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_WOKEN, None)


if not orm_event.contains(Session, "before_commit", _write_pending):
    orm_event.listen(Session, "before_commit", _write_pending)
    orm_event.listen(Session, "after_commit", _after_commit)
    orm_event.listen(Session, "after_rollback", _after_rollback)


def _record_job_change(session: AsyncSession, change: JobChange) -> None:
    if change.kind == WEBHOOK_JOB:
        return
    payload: dict[str, Any] = {
        "job_id": str(change.job_id),
        "kind": change.kind,
        "subject_id": str(change.subject_id),
        "status": change.status,
        "attempt": change.attempt,
    }
    if change.progress is not None:
        payload["progress"] = change.progress
    if change.error is not None:
        payload["error"] = change.error
    if change.result is not None:
        payload["result"] = change.result
    record_event(session, change.tenant_id, f"job.{change.status}", change.job_id, payload)


register_job_listener(_record_job_change)


# Reading the log.


async def events_after(
    db: Database, tenant_id: uuid.UUID, after: int, limit: int
) -> Sequence[Event]:
    async with db.sessions() as session:
        return (await session.scalars(events_after_statement(tenant_id, after, limit))).all()


async def latest_sequence(db: Database, tenant_id: uuid.UUID) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(latest_sequence_statement(tenant_id)) or 0)


async def prune_events(db: Database, settings: Settings) -> None:
    """Drop events and deliveries older than EVENTS_RETENTION_SECONDS (periodic task)."""
    before = utcnow() - timedelta(seconds=settings.events_retention_seconds)
    async with db.transaction() as session:
        for statement in prune_events_statements(before):
            await session.execute(statement)


# Webhook endpoints.


def new_webhook_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def check_event_types(event_types: Sequence[str]) -> list[str]:
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        raise InvalidInputError(
            f"Unknown event types {', '.join(unknown)}; choose from {', '.join(EVENT_TYPES)}",
            loc=("body", "event_types"),
        )
    return list(dict.fromkeys(event_types))


async def create_webhook(
    session: AsyncSession,
    settings: Settings,
    tenant_id: uuid.UUID,
    *,
    url: str,
    event_types: Sequence[str],
    description: str | None,
) -> Webhook:
    """A new endpoint with a fresh secret; the caller shows the secret once."""
    types = check_event_types(event_types)
    await check_webhook_url(url, settings)
    repository = WebhookRepository(session)
    if await repository.count_for_tenant(tenant_id) >= settings.webhook_max_per_tenant:
        raise ConflictError(
            f"A tenant may register at most {settings.webhook_max_per_tenant} webhook "
            "endpoints; delete one first"
        )
    webhook = await repository.add(
        Webhook(
            tenant_id=tenant_id,
            url=url,
            event_types=types,
            description=description,
            secret=new_webhook_secret(),
        )
    )
    return webhook


async def get_webhook(
    session: AsyncSession, tenant_id: uuid.UUID, webhook_id: uuid.UUID
) -> Webhook:
    webhook = await WebhookRepository(session).get_for_tenant(tenant_id, webhook_id)
    if webhook is None:
        raise NotFoundError("Webhook not found")
    return webhook


async def list_webhooks(session: AsyncSession, tenant_id: uuid.UUID) -> Sequence[Webhook]:
    return await WebhookRepository(session).list_for_tenant(tenant_id)


async def delete_webhook(
    session: AsyncSession, tenant_id: uuid.UUID, webhook_id: uuid.UUID
) -> None:
    webhook = await get_webhook(session, tenant_id, webhook_id)
    await WebhookRepository(session).delete(webhook)


async def list_deliveries(
    session: AsyncSession, tenant_id: uuid.UUID, webhook_id: uuid.UUID, limit: int
) -> Sequence[WebhookDelivery]:
    await get_webhook(session, tenant_id, webhook_id)
    return await DeliveryRepository(session).list_for_webhook(tenant_id, webhook_id, limit)


# Delivery bookkeeping, for the delivery job.


async def delivery_to_send(
    session: AsyncSession, delivery_id: uuid.UUID
) -> tuple[WebhookDelivery, Webhook] | None:
    """The pending delivery and its endpoint; None when it is finished, or either is gone."""
    found = await get_delivery_with_webhook(session, delivery_id)
    if found is None or found[0].status != DeliveryStatus.PENDING:
        return None
    return found


async def record_attempt(
    session: AsyncSession,
    delivery: WebhookDelivery,
    attempt: dict[str, Any],
    *,
    status: DeliveryStatus,
) -> None:
    delivery.attempts = [*delivery.attempts, attempt]
    delivery.status = status
    if status != DeliveryStatus.PENDING:
        delivery.finished_at = utcnow()


async def disable_webhook(session: AsyncSession, webhook: Webhook, reason: str) -> None:
    """Switch the endpoint off after persistent failure, with a `webhook.disabled` event."""
    disabled = await session.execute(
        update(Webhook)
        .where(Webhook.id == webhook.id, Webhook.is_active.is_(True))
        .values(is_active=False, disabled_reason=reason)
    )
    if disabled.rowcount:  # type: ignore[attr-defined]
        record_event(
            session,
            webhook.tenant_id,
            WEBHOOK_DISABLED,
            webhook.id,
            {"webhook_id": str(webhook.id), "url": webhook.url, "reason": reason},
        )
