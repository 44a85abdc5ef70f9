"""Event log rows, the per-tenant sequence counter, webhook endpoints and their deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from course_supporter.db import Base, IdMixin, utcnow

# The foreign keys name `tenants`: a worker process that imports no tenancy code must still
# know that table when it flushes an event.
from course_supporter.tenancy import models as _tenancy_models  # noqa: F401


class Event(IdMixin, Base):
    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("tenant_id", "sequence"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    # Per tenant, gap-free and in commit order (see service.next_sequences): the SSE id.
    sequence: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[uuid.UUID | None]
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class EventSequence(Base):
    """The last sequence handed out per tenant; its row lock orders a tenant's event commits."""

    __tablename__ = "event_sequences"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    last_sequence: Mapped[int] = mapped_column(BigInteger)


class Webhook(IdMixin, Base):
    __tablename__ = "webhooks"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2048))
    event_types: Mapped[list[str]]
    description: Mapped[str | None] = mapped_column(String(500))
    # Standard Webhooks `whsec_…`; kept in the clear because every delivery is signed with it.
    secret: Mapped[str] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class WebhookDelivery(IdMixin, Base):
    """One event to one endpoint: the message as signed, and every attempt at sending it."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_webhook_id_id", "webhook_id", "id"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    webhook_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(64))
    event_sequence: Mapped[int] = mapped_column(BigInteger)
    message: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PENDING)
    # [{at, status_code, error, duration_ms}], oldest first.
    attempts: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None]
