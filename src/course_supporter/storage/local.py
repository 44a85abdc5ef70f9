"""Local-directory backend: the embedded default (`STORAGE_BACKEND=local`)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from course_supporter.storage.backend import (
    ObjectWriter,
    PresignedUpload,
    StoredObject,
    UploadedPart,
)
from course_supporter.storage.errors import (
    InvalidKey,
    NotSupported,
    ObjectNotFound,
    StorageUnavailable,
)
from course_supporter.storage.keys import validate_key, validate_prefix

WRITE_BUFFER_BYTES = 1024 * 1024
COPY_CHUNK_BYTES = 1024 * 1024
TEMP_SUFFIX = ".part"

_PRESIGN_UNSUPPORTED = (
    "direct uploads need the S3 storage backend (STORAGE_BACKEND=s3); "
    "with local storage upload the file through POST /api/v1/courses/{course_id}/materials"
)


class LocalStorage:
    """Objects as files under `root`; every key is checked to resolve inside it."""

    supports_direct_uploads = False

    def __init__(
        self, root: Path, *, max_upload_bytes: int, health_check_timeout_seconds: float = 2.0
    ) -> None:
        self.root = root.resolve()
        self.max_upload_bytes = max_upload_bytes
        self.health_check_timeout_seconds = health_check_timeout_seconds

    def path_for(self, key: str) -> Path:
        """File path of a key; refuses keys that would land outside the storage directory."""
        path = (self.root / validate_key(key)).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise InvalidKey(f"object key {key!r} resolves outside the storage directory")
        return path

    async def open_writer(
        self, key: str, content_type: str, *, max_bytes: int | None = None
    ) -> ObjectWriter:
        """Start writing to a temp file next to the final path."""
        path = self.path_for(key)
        temp = path.parent / f".{uuid.uuid4().hex}{TEMP_SUFFIX}"
        file = await asyncio.to_thread(_open_temp, temp)
        limit = self.max_upload_bytes if max_bytes is None else max_bytes
        return LocalWriter(key, limit, root=self.root, path=path, temp=temp, file=file)

    async def delete(self, key: str) -> None:
        """Remove one file and the directories it leaves empty; a missing file is not an error."""
        await asyncio.to_thread(_remove_file, self.path_for(key), self.root)

    async def delete_prefix(self, prefix: str) -> int:
        """Remove the directory tree under `prefix`; return the number of files removed."""
        directory = self.path_for(validate_prefix(prefix)[:-1])
        return await asyncio.to_thread(_remove_tree, directory)

    async def download_to(self, key: str, path: Path) -> StoredObject:
        """Copy the file to `path`, hashing it on the way."""
        source = self.path_for(key)
        try:
            size, sha256 = await asyncio.to_thread(_copy_and_hash, source, path)
        except FileNotFoundError as error:
            raise ObjectNotFound(f"no stored object {key!r}") from error
        return StoredObject(key, size, sha256)

    async def head(self, key: str) -> int | None:
        """File size, or None when missing."""
        try:
            stat = await asyncio.to_thread(self.path_for(key).stat)
        except FileNotFoundError:
            return None
        return stat.st_size

    async def read_head(self, key: str, size: int) -> bytes:
        """The first `size` bytes of the file."""
        try:
            return await asyncio.to_thread(_read_head, self.path_for(key), size)
        except FileNotFoundError as error:
            raise ObjectNotFound(f"no stored object {key!r}") from error

    async def check(self) -> None:
        """Write and remove a probe file within the health-check timeout."""
        probe = self.root / f".health-{uuid.uuid4().hex}"
        try:
            async with asyncio.timeout(self.health_check_timeout_seconds):
                await asyncio.to_thread(_write_and_remove, probe)
        except TimeoutError as error:
            raise StorageUnavailable(
                f"storage directory {self.root} did not answer within "
                f"{self.health_check_timeout_seconds:g}s"
            ) from error
        except OSError as error:
            raise StorageUnavailable(
                f"cannot write to storage directory {self.root}: {error.strerror or error}"
            ) from error

    async def ensure_bucket(self) -> None:
        """Create the storage directory if needed."""
        try:
            await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)
        except OSError as error:
            raise StorageUnavailable(
                f"cannot create storage directory {self.root}: {error.strerror or error}"
            ) from error

    async def presign_upload(self, key: str, size: int, content_type: str) -> PresignedUpload:
        """Not available on local storage."""
        raise NotSupported(_PRESIGN_UNSUPPORTED)

    async def complete_presigned(
        self,
        key: str,
        *,
        size: int,
        upload_id: str | None = None,
        parts: Sequence[UploadedPart] = (),
    ) -> StoredObject:
        """Not available on local storage."""
        raise NotSupported(_PRESIGN_UNSUPPORTED)

    async def abort_presigned(self, key: str, upload_id: str | None = None) -> None:
        """Not available on local storage."""
        raise NotSupported(_PRESIGN_UNSUPPORTED)

    async def abort_stale_uploads(self, older_than: timedelta) -> int:
        """Remove temp files a crashed process left behind; return the count."""
        cutoff = time.time() - older_than.total_seconds()
        return await asyncio.to_thread(_remove_stale_temp_files, self.root, cutoff)

    async def close(self) -> None:
        """Nothing to release."""


class LocalWriter(ObjectWriter):
    """Buffers up to 1 MiB, writes to a hidden temp file, renames it into place on complete."""

    def __init__(
        self, key: str, max_bytes: int, *, root: Path, path: Path, temp: Path, file: BinaryIO
    ) -> None:
        super().__init__(key, max_bytes)
        self._root = root
        self._path = path
        self._temp = temp
        self._file = file
        self._buffer = bytearray()

    async def _write(self, chunk: bytes) -> None:
        self._buffer += chunk
        if len(self._buffer) >= WRITE_BUFFER_BYTES:
            await self._flush()

    async def _complete(self) -> None:
        await self._flush()
        await asyncio.to_thread(_close_and_publish, self._file, self._temp, self._path)

    async def _abort(self) -> None:
        self._buffer = bytearray()
        await asyncio.to_thread(_close_and_remove, self._file, self._temp, self._root)

    async def _flush(self) -> None:
        if self._buffer:
            data, self._buffer = self._buffer, bytearray()
            await asyncio.to_thread(self._file.write, data)


def _open_temp(temp: Path) -> BinaryIO:
    temp.parent.mkdir(parents=True, exist_ok=True)
    return temp.open("xb")


def _close_and_publish(file: BinaryIO, temp: Path, path: Path) -> None:
    file.flush()
    os.fsync(file.fileno())
    file.close()
    temp.replace(path)


def _close_and_remove(file: BinaryIO, temp: Path, root: Path) -> None:
    file.close()
    _remove_file(temp, root)


def _remove_file(path: Path, root: Path) -> None:
    path.unlink(missing_ok=True)
    for parent in path.parents:
        if parent == root or not parent.is_relative_to(root):
            break
        try:
            parent.rmdir()
        except OSError:
            break


def _remove_stale_temp_files(root: Path, cutoff: float) -> int:
    removed = 0
    for temp in root.rglob(f".*{TEMP_SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            if temp.stat().st_mtime < cutoff:
                temp.unlink()
                removed += 1
    return removed


def _remove_tree(directory: Path) -> int:
    if not directory.is_dir():
        return 0
    count = sum(1 for entry in directory.rglob("*") if entry.is_file())
    shutil.rmtree(directory)
    return count


def _copy_and_hash(source: Path, target: Path) -> tuple[int, str]:
    sha256 = hashlib.sha256()
    size = 0
    with source.open("rb") as reader:
        try:
            with target.open("wb") as writer:
                while chunk := reader.read(COPY_CHUNK_BYTES):
                    sha256.update(chunk)
                    writer.write(chunk)
                    size += len(chunk)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
    return size, sha256.hexdigest()


def _read_head(path: Path, size: int) -> bytes:
    with path.open("rb") as file:
        return file.read(size)


def _write_and_remove(probe: Path) -> None:
    probe.write_bytes(b"ok")
    probe.unlink()
