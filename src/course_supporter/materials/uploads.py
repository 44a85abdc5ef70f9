"""Presigned direct uploads: hand out PUT URLs, then turn the finished object into a material."""

from __future__ import annotations

import asyncio
import mimetypes
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from course_supporter.config import Settings
from course_supporter.courses.service import get_course
from course_supporter.db import Database, after_rollback, commit_or_rollback, new_id, utcnow
from course_supporter.errors import (
    ConflictError,
    DependencyUnavailableError,
    GoneError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    UnsupportedMediaError,
)
from course_supporter.ingestion.errors import UnsupportedMaterialType
from course_supporter.ingestion.formats import CONTENT_TYPES, check_upload_extension
from course_supporter.materials.models import Material, Upload
from course_supporter.materials.repository import UploadRepository
from course_supporter.materials.schemas import UploadCreate
from course_supporter.materials.service import (
    CreatedMaterial,
    check_file_type,
    record_material,
    source_type_for,
)
from course_supporter.storage import (
    ObjectNotFound,
    ObjectStorage,
    PresignedUpload,
    StorageError,
    StorageUnavailable,
    UploadedPart,
    UploadIncomplete,
    UploadTooLarge,
    material_key,
)
from course_supporter.storage.streaming import HEAD_BYTES

log = structlog.get_logger(__name__)

# A PUT that started just before its URL expired may finish after it; completing stays open
# this much longer. Past it the upload is discarded.
COMPLETE_GRACE = timedelta(hours=1)
SWEEP_BATCH = 100


@dataclass(frozen=True)
class PreparedUpload:
    upload: Upload
    presigned: PresignedUpload

    @property
    def complete_by(self) -> datetime:
        return self.upload.expires_at + COMPLETE_GRACE


async def prepare_upload(
    session: AsyncSession,
    storage: ObjectStorage,
    settings: Settings,
    *,
    tenant_id: uuid.UUID,
    course_id: uuid.UUID,
    data: UploadCreate,
) -> PreparedUpload:
    """Check type and size, presign the PUT (or one per part) and record the pending upload."""
    await get_course(session, tenant_id, course_id)
    source_type = data.source_type.value if data.source_type else source_type_for(data.filename)
    _check_extension(source_type, data.filename)
    if data.size_bytes > settings.max_upload_bytes:
        raise PayloadTooLargeError(_too_large(settings.max_upload_bytes))
    material_id = new_id()
    key = material_key(tenant_id, course_id, material_id, data.filename)
    content_type = data.content_type or _content_type_for(data.filename)
    try:
        presigned = await storage.presign_upload(key, data.size_bytes, content_type)
    except UploadTooLarge as exc:
        raise PayloadTooLargeError(_too_large(exc.max_bytes)) from exc
    except StorageUnavailable as exc:
        raise DependencyUnavailableError(f"storage is unavailable: {exc}") from exc
    upload = Upload(
        tenant_id=tenant_id,
        course_id=course_id,
        material_id=material_id,
        storage_key=key,
        filename=data.filename,
        source_type=source_type,
        content_type=content_type,
        size_bytes=data.size_bytes,
        s3_upload_id=presigned.upload_id,
        expires_at=presigned.expires_at,
    )
    session.add(upload)
    # A multipart upload opened for a row that never commits is aborted again.
    after_rollback(session, lambda: _discard_stored(storage, key, presigned.upload_id))
    await session.flush()
    return PreparedUpload(upload, presigned)


async def complete_upload(
    session: AsyncSession,
    storage: ObjectStorage,
    *,
    tenant_id: uuid.UUID,
    course_id: uuid.UUID,
    upload_id: uuid.UUID,
    parts: Sequence[UploadedPart] = (),
) -> CreatedMaterial:
    """Verify the uploaded object (exists, announced size, content matches the name) and record
    the material with its ingestion job; a rejected object is deleted."""
    await get_course(session, tenant_id, course_id)
    repo = UploadRepository(session)
    upload = await repo.get_for_tenant(tenant_id, course_id, upload_id)
    if upload is None:
        raise NotFoundError("Upload not found")
    if upload.completed_at is not None:
        raise ConflictError(_already_completed(upload))
    deadline = upload.expires_at + COMPLETE_GRACE
    if utcnow() > deadline:
        await _discard_stored(storage, upload.storage_key, upload.s3_upload_id)
        raise GoneError(
            f"upload {upload.id} expired at {deadline.isoformat()}; anything uploaded was "
            "discarded, start a new upload"
        )
    try:
        stored = await storage.complete_presigned(
            upload.storage_key, size=upload.size_bytes, upload_id=upload.s3_upload_id, parts=parts
        )
    except UploadTooLarge as exc:
        _forget(session, upload)
        raise PayloadTooLargeError(_too_large(exc.max_bytes) + "; the object was deleted") from exc
    except UploadIncomplete as exc:
        raise ConflictError(str(exc)) from exc
    except ObjectNotFound as exc:
        raise ConflictError(
            f"storage has no open multipart upload for upload {upload.id}: it was completed "
            "by another request or aborted; start a new upload"
        ) from exc
    except StorageUnavailable as exc:
        raise DependencyUnavailableError(f"storage is unavailable: {exc}") from exc
    content_type = await _sniffed_type(session, storage, upload)
    material = Material(
        id=upload.material_id,
        course_id=course_id,
        tenant_id=tenant_id,
        source_type=upload.source_type,
        storage_key=upload.storage_key,
        filename=upload.filename,
        content_type=content_type,
        size_bytes=stored.size,
        sha256=stored.sha256,
    )
    if not await repo.mark_completed(upload.id, utcnow()):
        raise ConflictError(_already_completed(upload))
    try:
        return await record_material(session, material)
    except IntegrityError as exc:
        # The material id is fixed per upload: a concurrent completion got there first.
        raise ConflictError(_already_completed(upload)) from exc
    except BaseException:
        await _discard_stored(storage, upload.storage_key, None)
        raise


async def discard_expired_uploads(
    session: AsyncSession, storage: ObjectStorage, *, now: datetime | None = None
) -> int:
    """Drop upload rows past their completion deadline; unfinished ones lose their stored bytes.

    Returns how many rows went. The workers run it every UPLOAD_SWEEP_INTERVAL_SECONDS.
    """
    cutoff = (now or utcnow()) - COMPLETE_GRACE
    repo = UploadRepository(session)
    removed = 0
    while batch := await repo.expired_before(cutoff, limit=SWEEP_BATCH):
        for upload in batch:
            if upload.completed_at is None:
                await _discard_stored(storage, upload.storage_key, upload.s3_upload_id)
            await session.delete(upload)
        await session.flush()
        removed += len(batch)
    return removed


async def sweep_uploads(db: Database, storage: ObjectStorage, settings: Settings) -> None:
    """Expired presigned uploads lose their rows and bytes; multipart uploads nobody finished
    (abandoned by a client, or left by a crashed API process) are aborted once older than
    any presigned URL could still use."""
    async with db.transaction() as session:
        discarded = await discard_expired_uploads(session, storage)
    stale_after = timedelta(seconds=settings.presigned_url_ttl_seconds) + COMPLETE_GRACE
    aborted = await storage.abort_stale_uploads(stale_after)
    if discarded or aborted:
        log.info("uploads_swept", discarded=discarded, aborted=aborted)


async def _sniffed_type(session: AsyncSession, storage: ObjectStorage, upload: Upload) -> str:
    """Content type from the object's first bytes; a mismatch deletes the object and the upload."""
    try:
        head = await storage.read_head(upload.storage_key, HEAD_BYTES)
    except ObjectNotFound as exc:
        raise ConflictError(f"the object of upload {upload.id} vanished; upload again") from exc
    except StorageUnavailable as exc:
        raise DependencyUnavailableError(f"storage is unavailable: {exc}") from exc
    try:
        return check_file_type(upload.source_type, upload.filename, head)
    except (InvalidInputError, UnsupportedMediaError) as exc:
        await _discard_stored(storage, upload.storage_key, None)
        _forget(session, upload)
        raise type(exc)(f"{exc.message}; the uploaded object was deleted") from exc


def _forget(session: AsyncSession, upload: Upload) -> None:
    """The refused upload's row goes with its deleted object. The refusal is the request's
    error, so its transaction rolls back; the row is deleted after that, in one of its own."""
    upload_id = upload.id

    async def forget() -> None:
        async with commit_or_rollback(session):
            await UploadRepository(session).delete_by_id(upload_id)

    after_rollback(session, forget)


async def _discard_stored(storage: ObjectStorage, key: str, s3_upload_id: str | None) -> None:
    """Best effort, and it survives cancellation; `abort_stale_uploads` sweeps what it misses."""
    try:
        await asyncio.shield(storage.abort_presigned(key, s3_upload_id))
    except StorageError:
        log.exception("upload_not_discarded", key=key)


def _check_extension(source_type: str, filename: str) -> None:
    try:
        check_upload_extension(source_type, filename)
    except UnsupportedMaterialType as exc:
        if exc.status_code == 415:
            raise UnsupportedMediaError(exc.message) from exc
        raise InvalidInputError(exc.message) from exc


def _content_type_for(filename: str) -> str:
    extension = filename.rpartition(".")[2].lower()
    known = CONTENT_TYPES.get(f".{extension}") or mimetypes.guess_type(filename)[0]
    return known or "application/octet-stream"


def _already_completed(upload: Upload) -> str:
    return f"upload {upload.id} is already completed as material {upload.material_id}"


def _too_large(limit: int) -> str:
    return f"The upload is larger than the limit of {limit} bytes"
