"""Course rules: every operation is scoped to the calling tenant."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from course_supporter.courses.models import Concept, Course, Exercise, Lesson
from course_supporter.courses.rendered import RenderedCourses
from course_supporter.courses.repository import (
    CourseRepository,
    ExerciseRepository,
    RevisionStamp,
    concepts_of_course,
    lessons_of_course,
    lessons_of_exercises,
    revision_stamp,
)
from course_supporter.courses.schemas import CourseCreate, CourseOut, CourseUpdate
from course_supporter.courses.structure import structure_document
from course_supporter.db import Database
from course_supporter.errors import ConflictError, NotFoundError
from course_supporter.jobs.models import Job
from course_supporter.jobs.service import enqueue_job
from course_supporter.materials.models import Material
from course_supporter.materials.repository import MaterialRepository
from course_supporter.materials.schemas import MaterialSummary
from course_supporter.storage import ObjectStorage, StorageError, course_prefix

log = structlog.get_logger(__name__)

STRUCTURE_JOB = "structure_course"


async def create_course(session: AsyncSession, tenant_id: uuid.UUID, data: CourseCreate) -> Course:
    course = await CourseRepository(session).add(Course(tenant_id=tenant_id, **data.model_dump()))
    await session.commit()
    return course


async def get_course(session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID) -> Course:
    course = await CourseRepository(session).get_for_tenant(tenant_id, course_id)
    if course is None:
        raise NotFoundError("Course not found")
    return course


async def get_exercise(
    session: AsyncSession, tenant_id: uuid.UUID, exercise_id: uuid.UUID
) -> tuple[Exercise, uuid.UUID]:
    """The tenant's exercise and its course id; 404 for anyone else's."""
    found = await ExerciseRepository(session).get_for_tenant(tenant_id, exercise_id)
    if found is None:
        raise NotFoundError("Exercise not found")
    return found


async def course_concepts(session: AsyncSession, course_id: uuid.UUID) -> Sequence[Concept]:
    """Every concept of the course's structure, lesson by lesson."""
    return await concepts_of_course(session, course_id)


async def course_lessons(
    session: AsyncSession, course_id: uuid.UUID
) -> Sequence[tuple[Lesson, int]]:
    """The course's lessons (and their module's position), in course order."""
    return await lessons_of_course(session, course_id)


async def exercise_lessons(
    session: AsyncSession, course_id: uuid.UUID, exercise_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[Lesson, int]]:
    """The lesson (and its module's position) of each of the course's `exercise_ids`."""
    return await lessons_of_exercises(session, course_id, exercise_ids)


async def list_courses(
    session: AsyncSession, tenant_id: uuid.UUID, *, limit: int, after: uuid.UUID | None
) -> Sequence[Course]:
    return await CourseRepository(session).page_for_tenant(tenant_id, limit=limit, after=after)


async def update_course(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID, data: CourseUpdate
) -> Course:
    course = await get_course(session, tenant_id, course_id)
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is None and field in {"title", "expected_knowledge", "expected_skills"}:
            continue
        setattr(course, field, value)
    await session.commit()
    return course


async def delete_course(
    session: AsyncSession, storage: ObjectStorage, tenant_id: uuid.UUID, course_id: uuid.UUID
) -> None:
    """Delete the rows (materials cascade), then every stored object under the course's prefix."""
    course = await get_course(session, tenant_id, course_id)
    await CourseRepository(session).delete(course)
    await session.commit()
    prefix = course_prefix(tenant_id, course_id)
    try:
        await storage.delete_prefix(prefix)
    except StorageError:
        log.exception("course_files_not_removed", prefix=prefix)


async def request_structure(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    course_id: uuid.UUID,
    strategy: str,
    *,
    wait_for_materials: bool = False,
) -> Job:
    """Queue a structure generation from every processed material.

    409 while materials are still processing (they are listed), unless the caller asks the
    job to wait for them; 409 when no material is processed nor on its way.
    """
    await get_course(session, tenant_id, course_id)
    materials = MaterialRepository(session)
    unfinished = await materials.unfinished_for_course(tenant_id, course_id)
    if unfinished and not wait_for_materials:
        listed = ", ".join(f"{m.id} ({m.filename or m.source_url})" for m in unfinished)
        raise ConflictError(
            f"{len(unfinished)} materials are still being processed: {listed}; retry when "
            'they are done, or send "wait_for_materials": true to queue the job until then'
        )
    if not unfinished and not await materials.done_for_course(tenant_id, course_id):
        raise ConflictError("No material of this course is processed yet; wait until one is 'done'")
    params = {"strategy": strategy, "wait_for_materials": bool(unfinished)}
    job = enqueue_job(session, tenant_id, STRUCTURE_JOB, course_id, params)
    await session.commit()
    return job


@dataclass(frozen=True)
class CourseRead:
    """A course detail read: its ETag, and the JSON body unless the client's copy is current."""

    etag: str
    body: bytes | None


async def read_course(
    db: Database,
    rendered: RenderedCourses,
    tenant_id: uuid.UUID,
    course_id: uuid.UUID,
    if_none_match: str | None,
) -> CourseRead:
    """Course, materials and structure as JSON, revalidated with one small query.

    The ETag hashes a stamp of the course row, its materials and the structure version: a
    current client gets 304, and a body rendered before from the same state is reused. A body
    that must be rendered takes its ETag from the rows it was rendered from, so body and ETag
    describe the same state even when a change lands between the stamp and the render.
    """
    stamp = await revision_stamp(db, tenant_id, course_id)
    if stamp is None:
        raise NotFoundError("Course not found")
    etag = _etag(course_id, stamp)
    if if_none_match and etag in {tag.strip() for tag in if_none_match.split(",")}:
        return CourseRead(etag, None)
    body = rendered.get(etag)
    if body is None:
        async with db.sessions() as session:
            etag, body = await _render_course(session, tenant_id, course_id)
        rendered.put(etag, body)
    return CourseRead(etag, body)


def _etag(course_id: uuid.UUID, stamp: RevisionStamp) -> str:
    text = "|".join(str(value) for value in (course_id, *stamp))
    return '"' + hashlib.blake2b(text.encode(), digest_size=16).hexdigest() + '"'


async def _render_course(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID
) -> tuple[str, bytes]:
    """The ETag and body; the stored structure document is spliced in as text, never parsed."""
    course = await get_course(session, tenant_id, course_id)
    materials = await course_materials(session, tenant_id, course_id)
    head = json.dumps(
        {
            **CourseOut.model_validate(course).model_dump(mode="json"),
            "materials": [
                MaterialSummary.model_validate(m).model_dump(mode="json") for m in materials
            ],
        },
        separators=(",", ":"),
    ).encode()
    version, document = await structure_document(session, course_id)
    structure = document.encode() if document is not None else b"null"
    stamp = RevisionStamp(
        course.updated_at,
        version,
        len(materials),
        max((m.updated_at for m in materials), default=None),
    )
    return _etag(course_id, stamp), head[:-1] + b',"structure":' + structure + b"}"


async def course_materials(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID
) -> Sequence[Material]:
    return await MaterialRepository(session).page_for_course(
        tenant_id, course_id, limit=10_000, after=None
    )
