"""Material rules: streaming uploads into storage, URL materials, deletion, slide mappings."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from course_supporter.config import Settings
from course_supporter.courses.service import get_course
from course_supporter.db import after_commit, after_rollback, new_id
from course_supporter.errors import (
    ConflictError,
    DependencyUnavailableError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    UnsupportedMediaError,
)
from course_supporter.events.service import MATERIAL_DONE, MATERIAL_ERROR, record_event
from course_supporter.ingestion.errors import UnsupportedMaterialType
from course_supporter.ingestion.formats import check_upload_type, detect_source_type
from course_supporter.jobs.models import Job
from course_supporter.jobs.service import enqueue_job
from course_supporter.materials.models import (
    Material,
    MaterialStatus,
    SlideVideoMapping,
    SourceType,
)
from course_supporter.materials.repository import MaterialRepository, SlideMappingRepository
from course_supporter.materials.schemas import MaterialFromUrl, MaterialPosition, SlideMapping
from course_supporter.pagination import PageRequest
from course_supporter.storage import (
    FormTooLarge,
    InvalidFilename,
    ObjectStorage,
    ObjectWriter,
    ReceivedUpload,
    StorageError,
    StorageUnavailable,
    UploadFormError,
    UploadTooLarge,
    material_key,
    receive_multipart_upload,
)

log = structlog.get_logger(__name__)

INGEST_JOB = "ingest_material"
URL_SOURCE_TYPES = {SourceType.WEB, SourceType.VIDEO}
_POSITION: TypeAdapter[int | None] = TypeAdapter(MaterialPosition)


@dataclass(frozen=True)
class CreatedMaterial:
    material: Material
    job: Job


async def upload_material(
    session: AsyncSession,
    storage: ObjectStorage,
    settings: Settings,
    *,
    tenant_id: uuid.UUID,
    course_id: uuid.UUID,
    body: AsyncIterable[bytes],
    content_type: str,
    content_length: int | None,
) -> CreatedMaterial:
    """Stream a multipart upload into storage, then record the material and its ingestion job."""
    await get_course(session, tenant_id, course_id)
    # Give the connection back while the body streams, for minutes on a large file: an open
    # transaction per upload would drain the pool and idle in PostgreSQL.
    await session.rollback()
    if content_length is not None and content_length > settings.max_upload_bytes:
        raise PayloadTooLargeError(_too_large_message(settings.max_upload_bytes))
    material_id = new_id()

    chosen: dict[str, str] = {}
    positions: list[int | None] = []

    def check_head(filename: str, head: bytes, fields: Mapping[str, str]) -> str:
        positions.append(
            _form_position(fields.get("position"))
        )  # refused before any byte is stored
        source_type = fields.get("source_type") or source_type_for(filename)
        if source_type not in {t.value for t in SourceType}:
            raise InvalidInputError(
                "form field source_type must come before file and be one of: "
                + ", ".join(t.value for t in SourceType)
                + " (or be left out to detect it from the file)"
            )
        chosen["source_type"] = source_type
        return check_file_type(source_type, filename, head)

    async def open_writer(filename: str, stored_type: str) -> ObjectWriter:
        key = material_key(tenant_id, course_id, material_id, filename)
        return await storage.open_writer(key, stored_type, max_bytes=settings.max_upload_bytes)

    received = await _receive_upload(
        body,
        content_type,
        settings,
        open_writer=open_writer,
        check_head=check_head,
        optional_fields=("source_type", "position"),
    )
    if received.stored.size == 0:
        await storage.delete(received.stored.key)
        raise InvalidInputError("the uploaded file is empty")
    try:
        position = _form_position(received.fields.get("position"))
    except InvalidInputError:
        await storage.delete(received.stored.key)
        raise
    material = Material(
        id=material_id,
        course_id=course_id,
        tenant_id=tenant_id,
        source_type=chosen["source_type"],
        storage_key=received.stored.key,
        filename=received.filename,
        content_type=received.content_type,
        size_bytes=received.stored.size,
        sha256=received.stored.sha256,
        position=position,
    )
    # The stored file goes again when its row does not commit, here or at the boundary.
    after_rollback(session, lambda: _remove_stored(storage.delete(received.stored.key), "upload"))
    return await record_material(session, material)


async def _receive_upload(
    body: AsyncIterable[bytes],
    content_type: str,
    settings: Settings,
    *,
    open_writer: Callable[[str, str], Awaitable[ObjectWriter]],
    check_head: Callable[[str, bytes, Mapping[str, str]], str],
    optional_fields: tuple[str, ...],
) -> ReceivedUpload:
    """The multipart body streamed into storage; its failures as the client's errors."""
    try:
        return await receive_multipart_upload(
            body,
            content_type,
            open_writer=open_writer,
            check_head=check_head,
            max_bytes=settings.max_upload_bytes,
            text_fields=(),
            optional_fields=optional_fields,
        )
    except UploadTooLarge as exc:
        raise PayloadTooLargeError(_too_large_message(settings.max_upload_bytes)) from exc
    except FormTooLarge as exc:
        raise PayloadTooLargeError(str(exc)) from exc
    except InvalidFilename as exc:
        raise InvalidInputError(str(exc), loc=("body", "file", "filename")) from exc
    except UploadFormError as exc:
        raise InvalidInputError(str(exc)) from exc
    except StorageUnavailable as exc:
        raise DependencyUnavailableError(f"storage is unavailable: {exc}") from exc


async def replace_material_file(
    session: AsyncSession,
    storage: ObjectStorage,
    settings: Settings,
    *,
    tenant_id: uuid.UUID,
    course_id: uuid.UUID,
    material_id: uuid.UUID,
    body: AsyncIterable[bytes],
    content_type: str,
    content_length: int | None,
) -> CreatedMaterial:
    """A new file for an uploaded material: same id and source type, ingested again.

    The new file is stored under a key of its own and the row switches to it in one
    transaction with its ingestion job; the old file goes only after that commit, so a failed
    replacement leaves the material as it was. 409 while the material is still being ingested,
    and for a URL material (it has no file to replace).
    """
    material = await get_material(session, tenant_id, course_id, material_id)
    _check_replaceable(material)
    if not content_type.startswith("multipart/form-data"):
        raise UnsupportedMediaError("send the new file as multipart/form-data (field `file`)")
    source_type = material.source_type
    await session.rollback()  # no transaction open while the body streams
    if content_length is not None and content_length > settings.max_upload_bytes:
        raise PayloadTooLargeError(_too_large_message(settings.max_upload_bytes))
    revision = new_id().hex[-12:]

    def check_head(filename: str, head: bytes, fields: Mapping[str, str]) -> str:
        return check_file_type(source_type, filename, head)

    async def open_writer(filename: str, stored_type: str) -> ObjectWriter:
        key = material_key(tenant_id, course_id, material_id, f"{revision}-{filename}")
        return await storage.open_writer(key, stored_type, max_bytes=settings.max_upload_bytes)

    received = await _receive_upload(
        body,
        content_type,
        settings,
        open_writer=open_writer,
        check_head=check_head,
        optional_fields=(),
    )
    try:
        if received.stored.size == 0:
            raise InvalidInputError("the uploaded file is empty")
        locked = await MaterialRepository(session).lock_for_tenant(
            tenant_id, course_id, material_id
        )
        if locked is None:
            raise NotFoundError("Material not found")
        material = locked
        _check_replaceable(material)
        old_key = material.storage_key
        material.storage_key = received.stored.key
        material.filename = received.filename
        material.content_type = received.content_type
        material.size_bytes = received.stored.size
        material.sha256 = received.stored.sha256
        material.status = MaterialStatus.PENDING
        material.error_message = None
        job = enqueue_job(session, tenant_id, INGEST_JOB, material.id)
        await session.flush()
    except BaseException:
        await storage.delete(received.stored.key)
        raise
    # Whichever file the committed row does not point at goes: the old one after the commit,
    # the new one when the switch rolls back.
    after_rollback(session, lambda: _remove_stored(storage.delete(received.stored.key), "upload"))
    if old_key and old_key != received.stored.key:
        replaced: str = old_key
        after_commit(session, lambda: _remove_stored(storage.delete(replaced), replaced))
    return CreatedMaterial(material=material, job=job)


def _check_replaceable(material: Material) -> None:
    if material.storage_key is None:
        raise ConflictError(
            "this material is a URL and has no file to replace; add the new file as a material"
        )
    if material.status in {MaterialStatus.PENDING, MaterialStatus.PROCESSING}:
        raise ConflictError(
            f"the material is still {material.status}; replace its file once it is done or failed"
        )


def _form_position(value: str | None) -> int | None:
    """The optional `position` form field as a number; 422 when it is not one."""
    if not value:
        return None
    try:
        return _POSITION.validate_python(value)
    except ValidationError as exc:
        raise InvalidInputError(
            "form field position must be a whole number from 0 to 1000000"
        ) from exc


def source_type_for(filename: str) -> str:
    """The source type of a file sent without one; 415 when no source type takes the file."""
    try:
        return detect_source_type(filename)
    except UnsupportedMaterialType as exc:
        raise UnsupportedMediaError(exc.message) from exc


def check_file_type(source_type: str, filename: str, head: bytes) -> str:
    """Content type of a file from its name and first bytes; 415/422 when it is not acceptable."""
    try:
        return check_upload_type(source_type, filename, head)
    except UnsupportedMaterialType as exc:
        if exc.status_code == 415:
            raise UnsupportedMediaError(exc.message) from exc
        raise InvalidInputError(exc.message) from exc


async def add_url_material(
    session: AsyncSession, *, tenant_id: uuid.UUID, course_id: uuid.UUID, data: MaterialFromUrl
) -> CreatedMaterial:
    await get_course(session, tenant_id, course_id)
    if data.source_type not in URL_SOURCE_TYPES:
        raise InvalidInputError(
            f"source_url is accepted for web and video; upload {data.source_type} as a file"
        )
    material = Material(
        course_id=course_id,
        tenant_id=tenant_id,
        source_type=data.source_type.value,
        source_url=str(data.source_url),
        position=data.position,
    )
    return await record_material(session, material)


async def record_material(session: AsyncSession, material: Material) -> CreatedMaterial:
    """The material row and its job commit together: a material never lacks its job."""
    if material.id is None:
        material.id = new_id()
    session.add(material)
    job = enqueue_job(session, material.tenant_id, INGEST_JOB, material.id)
    await session.flush()
    return CreatedMaterial(material=material, job=job)


async def get_material(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID, material_id: uuid.UUID
) -> Material:
    material = await MaterialRepository(session).get_for_tenant(tenant_id, course_id, material_id)
    if material is None:
        raise NotFoundError("Material not found")
    return material


async def list_materials(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    course_id: uuid.UUID,
    page: PageRequest,
) -> Sequence[Material]:
    """One page of the course's materials (the course must be the tenant's)."""
    await get_course(session, tenant_id, course_id)
    return await MaterialRepository(session).page_for_course(tenant_id, course_id, page)


async def processed_materials(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID
) -> Sequence[Material]:
    """The course's finished materials in the tenant's order."""
    return await MaterialRepository(session).done_for_course(tenant_id, course_id)


async def unfinished_materials(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID
) -> Sequence[Material]:
    """The course's materials still pending or processing."""
    return await MaterialRepository(session).unfinished_for_course(tenant_id, course_id)


def document_fingerprint(document: dict[str, Any]) -> str:
    """SHA-256 of the normalized document as stored (canonical JSON): what versions record."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def document_fingerprints(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID
) -> dict[str, str | None]:
    """{material id: document fingerprint} of the course's done materials (no document read)."""
    rows = await MaterialRepository(session).fingerprints_for_course(tenant_id, course_id)
    return {str(material_id): fingerprint for material_id, fingerprint in rows}


async def slide_mappings(
    session: AsyncSession, course_id: uuid.UUID
) -> Sequence[SlideVideoMapping]:
    return await SlideMappingRepository(session).for_course(course_id)


# The material lifecycle (pending → processing → done | error) is written here only; the
# ingestion job reports its progress through these three calls.


async def start_processing(session: AsyncSession, material_id: uuid.UUID) -> Material | None:
    """Mark the material `processing` (again, on a retry); None once it was deleted."""
    material = await session.get(Material, material_id)
    if material is None:
        return None
    material.status = MaterialStatus.PROCESSING
    material.error_message = None
    await session.flush()
    return material


async def finish_processing(
    session: AsyncSession, material_id: uuid.UUID, document: dict[str, Any]
) -> bool:
    """Store the extracted document and mark the material `done`; False once it was deleted."""
    material = await session.get(Material, material_id)
    if material is None:
        return False
    material.document = document
    material.document_sha256 = document_fingerprint(document)
    material.status = MaterialStatus.DONE
    record_event(
        session, material.tenant_id, MATERIAL_DONE, material.id, _material_payload(material)
    )
    await session.flush()
    return True


async def fail_processing(session: AsyncSession, material_id: uuid.UUID, message: str) -> None:
    """Mark the material `error` with a message its owner can act on."""
    material = await session.get(Material, material_id)
    if material is not None:
        material.status = MaterialStatus.ERROR
        material.error_message = message
        record_event(
            session,
            material.tenant_id,
            MATERIAL_ERROR,
            material.id,
            {**_material_payload(material), "error": message},
        )
        await session.flush()


def _material_payload(material: Material) -> dict[str, object]:
    return {
        "material_id": str(material.id),
        "course_id": str(material.course_id),
        "status": material.status,
        "source_type": material.source_type,
        "filename": material.filename,
        "source_url": material.source_url,
    }


async def delete_material(
    session: AsyncSession,
    storage: ObjectStorage,
    tenant_id: uuid.UUID,
    course_id: uuid.UUID,
    material_id: uuid.UUID,
) -> None:
    material = await get_material(session, tenant_id, course_id, material_id)
    key = material.storage_key
    await MaterialRepository(session).delete(material)
    if key:
        after_commit(session, lambda: _remove_stored(storage.delete(key), key))


async def _remove_stored(removal: Awaitable[object], what: str) -> None:
    try:
        await removal
    except StorageError:
        # The rows are gone; the object is logged for the operator rather than failing the call.
        log.exception("stored_object_not_removed", key=what)


async def add_slide_mappings(
    session: AsyncSession, tenant_id: uuid.UUID, course_id: uuid.UUID, mappings: list[SlideMapping]
) -> int:
    """Map slides to timecodes, idempotently: a slide already mapped to the same timecode is
    kept, one mapped to another timecode refuses the whole request (422). Returns how many
    mappings are new. Concurrent requests for one slide end the same way as sequential ones."""
    await get_course(session, tenant_id, course_id)
    repo = SlideMappingRepository(session)
    wanted = {mapping.slide_number: mapping.video_timecode for mapping in mappings}
    try:
        created = await repo.add_missing(course_id, wanted)
    except IntegrityError as exc:
        # Only the course's foreign key is left to violate: it was deleted meanwhile.
        raise ConflictError("the course was deleted while its slides were being mapped") from exc
    stored = await repo.timecodes(course_id, wanted)
    clashes = sorted(n for n, timecode in wanted.items() if stored.get(n) != timecode)
    if clashes:
        raise InvalidInputError(
            f"slides already mapped to other timecodes for this course: {clashes}",
            loc=("body", "mappings"),
        )
    await session.flush()
    return created


def _too_large_message(limit: int) -> str:
    return f"The upload is larger than the limit of {limit} bytes"


def document_of(material: Material) -> dict[str, object]:
    """The extracted document; 409 while the material is not processed yet."""
    if material.document is None:
        raise ConflictError(
            f"Material is {material.status}; its document exists once it is done"
            + (f" (error: {material.error_message})" if material.error_message else "")
        )
    return material.document
