"""Structure versions (full snapshots), the publishing log and tombstones of deleted items."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from course_supporter.db import Base, IdMixin, utcnow


class VersionKind(StrEnum):
    GENERATED = "generated"
    REGENERATED = "regenerated"
    EDITED = "edited"
    RESTORED = "restored"


class PublicationAction(StrEnum):
    PUBLISHED = "published"
    UNPUBLISHED = "unpublished"


class ItemKind(StrEnum):
    MODULE = "module"
    LESSON = "lesson"
    CONCEPT = "concept"
    EXERCISE = "exercise"


class StructureVersion(IdMixin, Base):
    """One state of a course's structure: who made it, how, from which materials, and all of it."""

    __tablename__ = "structure_versions"
    __table_args__ = (UniqueConstraint("course_id", "number"),)

    course_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    kind: Mapped[str] = mapped_column(String(20))
    key_prefix: Mapped[str | None] = mapped_column(String(20))
    # {material_id: document_sha256} of the done materials the structure was built from.
    fingerprints: Mapped[dict[str, Any]]
    document_json: Mapped[str] = mapped_column(Text, deferred=True)
    job_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StructurePublication(IdMixin, Base):
    """The publishing log: every publish and unpublish of a course's structure."""

    __tablename__ = "structure_publications"

    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(12))
    version: Mapped[int | None]
    key_prefix: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StructureTombstone(IdMixin, Base):
    """A generated item an edit deleted: regeneration does not bring back an item it matches."""

    __tablename__ = "structure_tombstones"

    course_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    match_key: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
