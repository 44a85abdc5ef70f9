"""Course rules: every operation is scoped to the calling tenant."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from course_supporter.courses.models import (
    Concept,
    Course,
    CourseStructureRecord,
    Exercise,
)
from course_supporter.courses.rendered import RenderedCourses
from course_supporter.courses.repository import (
    CourseRepository,
    ExerciseRepository,
    RevisionStamp,
    concepts_of_course,
    revision_stamp,
)
from course_supporter.courses.schemas import (
    CourseCreate,
    CourseOut,
    CourseUpdate,
    StaleMaterials,
)
from course_supporter.courses.structure import StoredVersions, structure_document
from course_supporter.courses.tree import load_tree as load_tree
from course_supporter.courses.tree import save_tree as save_tree
from course_supporter.db import Database, after_commit
from course_supporter.errors import ConflictError, NotFoundError
from course_supporter.jobs.models import Job
from course_supporter.jobs.service import enqueue_job
from course_supporter.materials.models import Material
from course_supporter.materials.repository import MaterialRepository
from course_supporter.materials.schemas import MaterialSummary
from course_supporter.pagination import PageRequest
from course_supporter.storage import ObjectStorage, StorageError, course_prefix
from course_supporter.structuring.outline import MaterialLink, OutlineFormat, render_outline
from course_supporter.structuring.schemas import CourseStructure

log = structlog.get_logger(__name__)

STRUCTURE_JOB = "structure_course"
REGENERATE_JOB = "regenerate_part"


async def create_course(session: AsyncSession, tenant_id: uuid.UUID, data: CourseCreate) -> Course:
    course = await CourseRepository(session).add(Course(tenant_id=tenant_id, **data.model_dump()))
    await session.flush()
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


async def list_courses(
    session: AsyncSession, tenant_id: uuid.UUID, page: PageRequest
) -> Sequence[Course]:
    """One page of the tenant's courses, newest first."""
    return await CourseRepository(session).page_for_tenant(tenant_id, page)


async def update_course(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID, data: CourseUpdate
) -> Course:
    course = await get_course(session, tenant_id, course_id)
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is None and field in {"title", "expected_knowledge", "expected_skills"}:
            continue
        setattr(course, field, value)
    await session.flush()
    return course


async def delete_course(
    session: AsyncSession, storage: ObjectStorage, tenant_id: uuid.UUID, course_id: uuid.UUID
) -> None:
    """Delete the rows (materials cascade), then, once that commits, every stored object under
    the course's prefix."""
    course = await get_course(session, tenant_id, course_id)
    await CourseRepository(session).delete(course)
    prefix = course_prefix(tenant_id, course_id)

    async def remove_files() -> None:
        try:
            await storage.delete_prefix(prefix)
        except StorageError:
            log.exception("course_files_not_removed", prefix=prefix)

    after_commit(session, remove_files)


async def request_structure(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    course_id: uuid.UUID,
    strategy: str,
    *,
    wait_for_materials: bool = False,
    key_prefix: str | None = None,
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
    params = {
        "strategy": strategy,
        "wait_for_materials": bool(unfinished),
        # The structure version it makes records who asked.
        "key_prefix": key_prefix,
    }
    job = enqueue_job(session, tenant_id, STRUCTURE_JOB, course_id, params)
    await session.flush()
    return job


async def request_regeneration(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    course_id: uuid.UUID,
    *,
    part: Literal["module", "lesson"],
    item_id: uuid.UUID,
    instructions: str,
    strategy: str,
    key_prefix: str | None,
) -> Job:
    """Queue regeneration of one module or lesson of the course's structure: 404 for a part
    the course does not have, 409 when no material is processed."""
    await get_course(session, tenant_id, course_id)
    repo = CourseRepository(session)
    exists = (
        await repo.has_module(course_id, item_id)
        if part == "module"
        else await repo.has_lesson(course_id, item_id)
    )
    if not exists:
        raise NotFoundError(f"{part.capitalize()} not found")
    if not await MaterialRepository(session).done_for_course(tenant_id, course_id):
        raise ConflictError("No material of this course is processed; nothing to regenerate from")
    params = {
        "part": part,
        "item_id": str(item_id),
        "instructions": instructions,
        "strategy": strategy,
        "key_prefix": key_prefix,
    }
    job = enqueue_job(session, tenant_id, REGENERATE_JOB, course_id, params)
    await session.flush()
    return job


async def published_version(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID
) -> int:
    """The course's published version number; 409 while nothing is published."""
    await get_course(session, tenant_id, course_id)
    record = await session.get(CourseStructureRecord, course_id)
    if record is None or record.published_version is None:
        raise ConflictError(NOTHING_PUBLISHED.format(course_id=course_id))
    return record.published_version


@dataclass(frozen=True)
class CourseRead:
    """A course detail read: its ETag, and the JSON body unless the client's copy is current."""

    etag: str
    body: bytes | None


NOTHING_PUBLISHED = (
    "Nothing of this course is published yet: a prep key publishes a version "
    "(POST /api/v1/courses/{course_id}/publication) before check keys can read it"
)


async def read_course(
    db: Database,
    rendered: RenderedCourses,
    versions: StoredVersions,
    tenant_id: uuid.UUID,
    course_id: uuid.UUID,
    if_none_match: str | None,
    *,
    published_only: bool = False,
    number: int | None = None,
) -> CourseRead:
    """Course, materials and structure as JSON, revalidated with one small query.

    The structure is the draft's, version `number`'s, or (`published_only`, for `check`
    keys) the published one's: 409 when nothing is published.

    The ETag hashes a stamp of the course row, its materials and the version shown: a
    current client gets 304, and a body rendered before from the same state is reused. A body
    that must be rendered takes its ETag from the rows it was rendered from, so body and ETag
    describe the same state even when a change lands between the stamp and the render.
    """
    stamp = await revision_stamp(db, tenant_id, course_id)
    if stamp is None:
        raise NotFoundError("Course not found")
    if published_only:
        if stamp.published_version is None:
            raise ConflictError(NOTHING_PUBLISHED.format(course_id=course_id))
        number = stamp.published_version
    etag = _etag(course_id, stamp, number)
    if if_none_match and etag in {tag.strip() for tag in if_none_match.split(",")}:
        return CourseRead(etag, None)
    body = rendered.get(etag)
    if body is None:
        async with db.sessions() as session:
            etag, body = await _render_course(session, versions, tenant_id, course_id, number)
        rendered.put(etag, body)
    return CourseRead(etag, body)


def _etag(course_id: uuid.UUID, stamp: RevisionStamp, number: int | None) -> str:
    """`number` None: the draft, named by its version; else only that (immutable) version."""
    shown = f"draft:{stamp.structure_version}" if number is None else f"v:{number}"
    text = "|".join(str(value) for value in (course_id, shown, *stamp))
    if number is not None:
        parts = (course_id, shown, stamp.course_updated_at, stamp.material_count,
                 stamp.materials_updated_at, stamp.published_version)  # fmt: skip
        text = "|".join(str(value) for value in parts)
    return '"' + hashlib.blake2b(text.encode(), digest_size=16).hexdigest() + '"'


async def _render_course(
    session: AsyncSession,
    versions: StoredVersions,
    tenant_id: uuid.UUID,
    course_id: uuid.UUID,
    number: int | None,
) -> tuple[str, bytes]:
    """The ETag and body; the stored structure document is spliced in as text, never parsed."""
    course = await get_course(session, tenant_id, course_id)
    materials = await course_materials(session, tenant_id, course_id)
    stored = await structure_document(session, versions, course_id, number)
    stale = course_staleness(await versions.draft_fingerprints(session, course_id), materials)
    head = json.dumps(
        {
            **CourseOut.model_validate(course).model_dump(mode="json"),
            "materials": [
                MaterialSummary.model_validate(m).model_dump(mode="json") for m in materials
            ],
            "version": stored.version if number is None else number,
            "published_version": stored.published_version,
            "stale": bool(stale.added or stale.changed or stale.removed),
            "stale_materials": stale.model_dump(mode="json"),
        },
        separators=(",", ":"),
    ).encode()
    document = stored.document_json
    structure = document.encode() if document is not None else b"null"
    stamp = RevisionStamp(
        course.updated_at,
        stored.version,
        len(materials),
        max((m.updated_at for m in materials), default=None),
        stored.published_version,
    )
    return _etag(course_id, stamp, number), head[:-1] + b',"structure":' + structure + b"}"


def course_staleness(
    fingerprints: dict[str, str] | None, materials: Sequence[Material]
) -> StaleMaterials:
    """What changed in the materials since the draft was built: processed materials it did not
    use, materials whose document differs or that are being processed again, deleted ones."""
    if fingerprints is None:
        return StaleMaterials()
    present = {str(m.id): m for m in materials}
    added = [m.id for m in materials if m.status == "done" and str(m.id) not in fingerprints]
    changed = [
        m.id
        for key, m in present.items()
        if key in fingerprints
        and (m.status != "done" or (m.document_sha256 or "") != fingerprints[key])
    ]
    removed = [uuid.UUID(key) for key in fingerprints if key not in present]
    return StaleMaterials(added=added, changed=changed, removed=removed)


async def course_materials(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID
) -> Sequence[Material]:
    return await MaterialRepository(session).all_for_course(tenant_id, course_id)


async def course_outline(
    session: AsyncSession,
    versions: StoredVersions,
    tenant_id: uuid.UUID,
    course_id: uuid.UUID,
    fmt: OutlineFormat,
    *,
    number: int | None = None,
) -> str:
    """The structure (the draft, or version `number`) as a readable outline: Markdown or a
    printable HTML page."""
    course = await get_course(session, tenant_id, course_id)
    materials = await course_materials(session, tenant_id, course_id)
    document = (await structure_document(session, versions, course_id, number)).document_json
    structure = (
        CourseStructure.model_validate_json(document)
        if document is not None
        else CourseStructure(title=course.title)
    )
    structure.title = course.title
    structure.description = course.description or structure.description
    structure.learning_goal = course.learning_goal or structure.learning_goal
    links = {
        m.id: MaterialLink(m.filename or m.source_url or str(m.id), m.source_url) for m in materials
    }
    return render_outline(structure, links, fmt)


async def course_tenant(session: AsyncSession, course_id: uuid.UUID) -> uuid.UUID:
    """The tenant owning a course, for operator tools that read any tenant's course."""
    tenant_id = await CourseRepository(session).tenant_of(course_id)
    if tenant_id is None:
        raise NotFoundError(f"no course {course_id}")
    return tenant_id


async def course_json(
    session: AsyncSession, versions: StoredVersions, tenant_id: uuid.UUID, course_id: uuid.UUID
) -> bytes:
    """The course detail body (the draft) as the API serves it (JSON)."""
    _, body = await _render_course(session, versions, tenant_id, course_id, None)
    return body


async def lock_course(session: AsyncSession, course_id: uuid.UUID) -> None:
    """Hold the course's row and its structure record until the transaction ends: structure
    writers (jobs and edits) queue up, in the order the generation path takes them."""
    repo = CourseRepository(session)
    await repo.lock_for_update(course_id)
    await repo.lock_structure_record(course_id)
