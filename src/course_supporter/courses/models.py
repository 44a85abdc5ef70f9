"""Courses, owned by a tenant."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from course_supporter.db import Base, IdMixin, TimestampMixin


class Course(IdMixin, TimestampMixin, Base):
    __tablename__ = "courses"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    learning_goal: Mapped[str | None] = mapped_column(Text)
    expected_knowledge: Mapped[list[str]] = mapped_column(default=list)
    expected_skills: Mapped[list[str]] = mapped_column(default=list)
