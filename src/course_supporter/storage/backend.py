"""The storage interface both backends implement, and the values it returns."""

from __future__ import annotations

import asyncio
import hashlib
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from course_supporter.storage.errors import StorageError, UploadIncomplete, UploadTooLarge


@dataclass(frozen=True, slots=True)
class StoredObject:
    """A finished object; `sha256` is None when its bytes never passed through us."""

    key: str
    size: int
    sha256: str | None


@dataclass(frozen=True, slots=True)
class PresignedPart:
    """One part of a presigned multipart upload: PUT exactly its bytes to `url`."""

    part_number: int
    url: str
    size: int


@dataclass(frozen=True, slots=True)
class UploadedPart:
    """A part as the client reports it after its PUT: the number and the ETag it got back."""

    part_number: int
    etag: str


@dataclass(frozen=True, slots=True)
class PresignedUpload:
    """Where a client PUTs a file itself: one `url`, or one URL per part when `upload_id` is set."""

    key: str
    size: int
    expires_at: datetime
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    upload_id: str | None = None
    part_size: int | None = None
    parts: tuple[PresignedPart, ...] = ()


MAX_PARTS = 10_000


def direct_part_size(size: int, part_size: int) -> int:
    """Part size of a multipart direct upload: `part_size`, raised in MiB steps to fit MAX_PARTS."""
    needed = math.ceil(size / MAX_PARTS)
    if needed <= part_size:
        return part_size
    mib = 1024 * 1024
    return math.ceil(needed / mib) * mib


class ObjectWriter(ABC):
    """Streams one object into storage; counts size and SHA-256, enforces `max_bytes`."""

    def __init__(self, key: str, max_bytes: int) -> None:
        self.key = key
        self.max_bytes = max_bytes
        self.size = 0
        self._sha256 = hashlib.sha256()
        self._finished = False

    async def write(self, chunk: bytes) -> None:
        """Append bytes; past `max_bytes` the upload is aborted and `UploadTooLarge` raised."""
        if self._finished:
            raise StorageError(f"writer for {self.key!r} is already finished")
        if self.size + len(chunk) > self.max_bytes:
            await self.abort()
            raise UploadTooLarge(self.max_bytes)
        self.size += len(chunk)
        self._sha256.update(chunk)
        try:
            await self._write(chunk)
        except BaseException:
            await self.abort()
            raise

    async def complete(self) -> StoredObject:
        """Make the object visible under its key; on failure nothing is left behind."""
        if self._finished:
            raise StorageError(f"writer for {self.key!r} is already finished")
        try:
            await self._complete()
        except BaseException:
            await self.abort()
            raise
        self._finished = True
        return StoredObject(self.key, self.size, self._sha256.hexdigest())

    async def abort(self) -> None:
        """Throw away everything written so far; safe to call twice, survives cancellation."""
        if self._finished:
            return
        self._finished = True
        await asyncio.shield(self._abort())

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Leaving the block without `complete()` (error or not) aborts the upload."""
        await self.abort()

    @abstractmethod
    async def _write(self, chunk: bytes) -> None: ...

    @abstractmethod
    async def _complete(self) -> None: ...

    @abstractmethod
    async def _abort(self) -> None: ...


class ObjectStorage(Protocol):
    """Object storage as the rest of the application sees it (local directory or S3)."""

    max_upload_bytes: int

    async def open_writer(
        self, key: str, content_type: str, *, max_bytes: int | None = None
    ) -> ObjectWriter:
        """Start streaming a new object; `max_bytes` defaults to `max_upload_bytes`."""
        ...

    async def delete(self, key: str) -> None:
        """Remove one object; a missing object is not an error."""
        ...

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every object (and open upload) under a `/`-terminated prefix; return the count."""
        ...

    async def download_to(self, key: str, path: Path) -> StoredObject:
        """Stream an object into a local file, hashing it on the way."""
        ...

    async def head(self, key: str) -> int | None:
        """Size of the object, or None when it does not exist."""
        ...

    async def read_head(self, key: str, size: int) -> bytes:
        """The first `size` bytes of an object (a ranged GET on S3); `ObjectNotFound` if none."""
        ...

    async def check(self) -> None:
        """Health probe within the configured timeout; raises `StorageUnavailable` saying why."""
        ...

    async def ensure_bucket(self) -> None:
        """Start-up: make sure the bucket or directory exists, creating it when allowed."""
        ...

    async def presign_upload(self, key: str, size: int, content_type: str) -> PresignedUpload:
        """Let a client upload exactly `size` bytes itself: every URL is signed for its length."""
        ...

    async def complete_presigned(
        self,
        key: str,
        *,
        size: int,
        upload_id: str | None = None,
        parts: Sequence[UploadedPart] = (),
    ) -> StoredObject:
        """Finish a direct upload and check it holds exactly the announced `size` bytes.

        `parts`, when given, are the client's (number, ETag) pairs; they must match what
        storage received.
        """
        ...

    async def abort_presigned(self, key: str, upload_id: str | None = None) -> None:
        """Give up a direct upload: abort its multipart upload and delete any object."""
        ...

    async def abort_stale_uploads(self, older_than: timedelta) -> int:
        """Abort multipart uploads started longer ago than `older_than`; return the count."""
        ...

    async def close(self) -> None:
        """Release connections; the storage is unusable afterwards."""
        ...


def check_received_parts(
    received: int, size: int, numbers: Sequence[int], max_bytes: int
) -> tuple[StorageError, bool] | None:
    """What is wrong with the parts a direct upload holds at completion, if anything, and
    whether the upload must be discarded (too large, or more than announced) or may go on
    (parts missing): the same rule on every backend."""
    if received > max_bytes:
        return UploadTooLarge(max_bytes), True
    if received > size:
        message = f"parts hold {received} bytes, {size} were announced; the upload was discarded"
        return UploadIncomplete(message), True
    if received < size or list(numbers) != list(range(1, len(numbers) + 1)):
        return UploadIncomplete(
            f"{received} of {size} bytes received in parts {list(numbers)}; "
            "upload the missing parts and complete again"
        ), False
    return None


async def check_stored_size(storage: ObjectStorage, key: str, size: int) -> int:
    """The size of a finished direct upload, which must be the announced `size`: an object
    of any other size, or past the limit, is deleted and refused (the same on every backend)."""
    stored = await storage.head(key)
    if stored is None:
        raise UploadIncomplete(f"nothing has been uploaded to {key!r} yet")
    if stored > storage.max_upload_bytes:
        await storage.delete(key)
        raise UploadTooLarge(storage.max_upload_bytes)
    if stored != size:
        await storage.delete(key)
        raise UploadIncomplete(
            f"uploaded object has {stored} bytes, {size} were announced; it was discarded"
        )
    return stored
