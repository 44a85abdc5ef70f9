"""Courses, owned by a tenant, and their generated structure."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from course_supporter.db import Base, IdMixin, TimestampMixin, utcnow

# `tenant_id` takes its column type from `tenants.id`: a process that imports no tenancy code
# (`course-supporter show`) must still know that table, or tenant ids read back as strings.
from course_supporter.tenancy import models as _tenancy_models  # noqa: F401


class Origin(StrEnum):
    """Where a structure item comes from: regeneration replaces only generated ones."""

    GENERATED = "generated"
    EDITED = "edited"
    AUTHORED = "authored"


def _origin_column() -> Mapped[str]:
    return mapped_column(String(10), default=Origin.GENERATED, server_default=Origin.GENERATED)


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


class CourseStructureRecord(Base):
    """The current generated structure as one versioned document: what readers are served."""

    __tablename__ = "course_structures"

    course_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int]
    # Rendered once when generated: readers splice these bytes into the response instead of
    # rebuilding (or even parsing) the tree on every request.
    document_json: Mapped[str] = mapped_column(Text, deferred=True)
    strategy: Mapped[str | None] = mapped_column(String(20))
    job_id: Mapped[uuid.UUID | None]
    generated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The structure version `check` keys read; None: nothing is published.
    published_version: Mapped[int | None]


class Module(IdMixin, Base):
    __tablename__ = "modules"

    course_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    learning_goal: Mapped[str] = mapped_column(Text, default="")
    expected_knowledge: Mapped[list[str]] = mapped_column(default=list)
    expected_skills: Mapped[list[str]] = mapped_column(default=list)
    difficulty: Mapped[str] = mapped_column(String(10))
    origin: Mapped[str] = _origin_column()


class Lesson(IdMixin, Base):
    __tablename__ = "lessons"

    module_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("modules.id", ondelete="CASCADE"), index=True
    )
    course_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    title: Mapped[str] = mapped_column(Text)
    video_material_id: Mapped[uuid.UUID | None]
    video_start: Mapped[str | None] = mapped_column(String(12))
    video_end: Mapped[str | None] = mapped_column(String(12))
    slides_material_id: Mapped[uuid.UUID | None]
    slide_start: Mapped[int | None]
    slide_end: Mapped[int | None]
    origin: Mapped[str] = _origin_column()

    concepts: Mapped[list[Concept]] = relationship(
        order_by="Concept.position", lazy="raise", passive_deletes=True
    )
    exercises: Mapped[list[Exercise]] = relationship(
        order_by="Exercise.position", lazy="raise", passive_deletes=True
    )


class Concept(IdMixin, Base):
    __tablename__ = "concepts"

    lesson_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lessons.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    title: Mapped[str] = mapped_column(Text)
    definition: Mapped[str] = mapped_column(Text)
    examples: Mapped[list[str]] = mapped_column(default=list)
    # Each reference names its material: [{"material_id": …, "page": 3}, …]
    timecodes: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    slide_references: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    page_references: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    web_references: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    origin: Mapped[str] = _origin_column()


class Exercise(IdMixin, Base):
    __tablename__ = "exercises"

    lesson_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lessons.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    description: Mapped[str] = mapped_column(Text)
    reference_solution: Mapped[str] = mapped_column(Text)
    grading_criteria: Mapped[list[str]] = mapped_column(default=list)
    difficulty: Mapped[int]
    max_points: Mapped[float] = mapped_column(Float, default=5.0, server_default="5")
    # The concepts it assesses (ids of the same course); empty: matched by the criteria's words.
    concept_ids: Mapped[list[str]] = mapped_column(default=list)
    origin: Mapped[str] = _origin_column()
