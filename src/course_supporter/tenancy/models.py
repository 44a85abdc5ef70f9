"""Tenants and their API keys."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from course_supporter.db import Base, IdMixin, TimestampMixin, utcnow


class Tenant(IdMixin, TimestampMixin, Base):
    __tablename__ = "tenants"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Verdicts below this confidence are flagged needs_review; None: GRADING_REVIEW_BELOW.
    review_threshold: Mapped[float | None] = mapped_column(Float)


class ApiKey(IdMixin, Base):
    __tablename__ = "api_keys"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(32), unique=True)
    label: Mapped[str | None] = mapped_column(String(200))
    scopes: Mapped[list[str]]
    rate_limit_prep: Mapped[int]
    rate_limit_check: Mapped[int]
    is_active: Mapped[bool] = mapped_column(default=True)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    tenant: Mapped[Tenant] = relationship(lazy="raise")
