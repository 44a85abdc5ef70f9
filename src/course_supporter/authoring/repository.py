"""Queries of the draft's rows, its versions, the publishing log and tombstones."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from course_supporter.authoring.draft import Draft
from course_supporter.authoring.models import StructureTombstone, StructureVersion
from course_supporter.courses.models import (
    Concept,
    Course,
    CourseStructureRecord,
    Exercise,
    Lesson,
    Module,
)


async def lock_record(session: AsyncSession, course_id: uuid.UUID) -> CourseStructureRecord | None:
    """The course's current-structure record with its document, locked until the transaction
    ends: writers of one course's structure queue up (SQLite serialises writers anyway)."""
    await session.execute(select(Course.id).where(Course.id == course_id).with_for_update())
    return await session.scalar(
        select(CourseStructureRecord)
        .where(CourseStructureRecord.course_id == course_id)
        .options(undefer(CourseStructureRecord.document_json))
        .with_for_update()
    )


async def load_draft(session: AsyncSession, course_id: uuid.UUID) -> Draft:
    modules = (await session.scalars(select(Module).where(Module.course_id == course_id))).all()
    lessons = (await session.scalars(select(Lesson).where(Lesson.course_id == course_id))).all()
    concepts = (
        await session.scalars(
            select(Concept)
            .join(Lesson, Lesson.id == Concept.lesson_id)
            .where(Lesson.course_id == course_id)
        )
    ).all()
    exercises = (
        await session.scalars(
            select(Exercise)
            .join(Lesson, Lesson.id == Exercise.lesson_id)
            .where(Lesson.course_id == course_id)
        )
    ).all()
    return Draft.of(course_id, modules, lessons, concepts, exercises)


async def items_by_id(
    session: AsyncSession, course_id: uuid.UUID, wanted: dict[str, set[uuid.UUID]]
) -> dict[uuid.UUID, Module | Lesson | Concept | Exercise]:
    """The course's items of each kind among the ids given (others are simply absent)."""
    found: dict[uuid.UUID, Module | Lesson | Concept | Exercise] = {}
    if "module" in wanted:
        for module in await session.scalars(
            select(Module).where(Module.course_id == course_id, Module.id.in_(wanted["module"]))
        ):
            found[module.id] = module
    if "lesson" in wanted:
        for lesson in await session.scalars(
            select(Lesson).where(Lesson.course_id == course_id, Lesson.id.in_(wanted["lesson"]))
        ):
            found[lesson.id] = lesson
    if "concept" in wanted:
        for concept in await session.scalars(
            select(Concept)
            .join(Lesson, Lesson.id == Concept.lesson_id)
            .where(Lesson.course_id == course_id, Concept.id.in_(wanted["concept"]))
        ):
            found[concept.id] = concept
    if "exercise" in wanted:
        for exercise in await session.scalars(
            select(Exercise)
            .join(Lesson, Lesson.id == Exercise.lesson_id)
            .where(Lesson.course_id == course_id, Exercise.id.in_(wanted["exercise"]))
        ):
            found[exercise.id] = exercise
    return found


async def delete_draft_rows(session: AsyncSession, course_id: uuid.UUID) -> None:
    """Every module of the course; lessons, concepts and exercises go with them (cascade)."""
    await session.execute(delete(Module).where(Module.course_id == course_id))


async def ids_in_use(session: AsyncSession, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of `ids` any structure item of any course already has."""
    found: set[uuid.UUID] = set()
    for model in (Module, Lesson, Concept, Exercise):
        found |= set(await session.scalars(select(model.id).where(model.id.in_(ids))))
    return found


async def get_version(
    session: AsyncSession, course_id: uuid.UUID, number: int, *, with_document: bool = True
) -> StructureVersion | None:
    statement = select(StructureVersion).where(
        StructureVersion.course_id == course_id, StructureVersion.number == number
    )
    if with_document:
        statement = statement.options(undefer(StructureVersion.document_json))
    return await session.scalar(statement)


async def version_document(session: AsyncSession, course_id: uuid.UUID, number: int) -> str | None:
    return await session.scalar(
        select(StructureVersion.document_json).where(
            StructureVersion.course_id == course_id, StructureVersion.number == number
        )
    )


async def draft_fingerprints(session: AsyncSession, course_id: uuid.UUID) -> dict[str, Any] | None:
    """The fingerprints stored on the version the course's draft is."""
    return await session.scalar(
        select(StructureVersion.fingerprints)
        .join(
            CourseStructureRecord,
            (CourseStructureRecord.course_id == StructureVersion.course_id)
            & (CourseStructureRecord.version == StructureVersion.number),
        )
        .where(StructureVersion.course_id == course_id)
    )


async def tombstone_keys(session: AsyncSession, course_id: uuid.UUID) -> set[tuple[str, str]]:
    rows = await session.execute(
        select(StructureTombstone.kind, StructureTombstone.match_key).where(
            StructureTombstone.course_id == course_id
        )
    )
    return {(row.kind, row.match_key) for row in rows.all()}


async def page_versions(
    session: AsyncSession, course_id: uuid.UUID, *, limit: int, after: uuid.UUID | None
) -> Sequence[StructureVersion]:
    """Newest first; ids are time-ordered like the numbers."""
    statement = select(StructureVersion).where(StructureVersion.course_id == course_id)
    if after is not None:
        statement = statement.where(StructureVersion.id < after)
    return (
        await session.scalars(statement.order_by(StructureVersion.id.desc()).limit(limit))
    ).all()


async def prune_versions(
    session: AsyncSession, course_id: uuid.UUID, *, keep: int, published: int | None
) -> None:
    """Delete the oldest versions beyond `keep`, never the published one."""
    count = await session.scalar(
        select(func.count()).where(StructureVersion.course_id == course_id)
    )
    excess = (count or 0) - keep
    if excess <= 0:
        return
    statement = select(StructureVersion.id).where(StructureVersion.course_id == course_id)
    if published is not None:
        statement = statement.where(StructureVersion.number != published)
    oldest = list(await session.scalars(statement.order_by(StructureVersion.number).limit(excess)))
    await session.execute(delete(StructureVersion).where(StructureVersion.id.in_(oldest)))


async def published_with_exercise(
    session: AsyncSession, tenant_id: uuid.UUID, exercise_id: uuid.UUID
) -> StructureVersion | None:
    """The published version (of any of the tenant's courses) whose document holds the id."""
    return await session.scalar(
        select(StructureVersion)
        .join(
            CourseStructureRecord,
            (CourseStructureRecord.course_id == StructureVersion.course_id)
            & (CourseStructureRecord.published_version == StructureVersion.number),
        )
        .join(Course, Course.id == StructureVersion.course_id)
        .where(
            Course.tenant_id == tenant_id,
            StructureVersion.document_json.contains(f'"id":"{exercise_id}"'),
        )
        .options(undefer(StructureVersion.document_json))
        .limit(1)
    )


async def draft_exercise_course(
    session: AsyncSession, tenant_id: uuid.UUID, exercise_id: uuid.UUID
) -> uuid.UUID | None:
    """The course of the tenant's draft exercise, if it has one."""
    return await session.scalar(
        select(Lesson.course_id)
        .join(Exercise, Exercise.lesson_id == Lesson.id)
        .join(Course, Course.id == Lesson.course_id)
        .where(Exercise.id == exercise_id, Course.tenant_id == tenant_id)
    )
