"""Local-directory backend: the embedded default (`STORAGE_BACKEND=local`)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from course_supporter.storage.backend import (
    ObjectWriter,
    PresignedPart,
    PresignedUpload,
    StoredObject,
    UploadedPart,
    check_received_parts,
    check_stored_size,
    direct_part_size,
)
from course_supporter.storage.errors import (
    InvalidKey,
    LengthMismatch,
    LengthRequired,
    ObjectNotFound,
    StorageUnavailable,
    UploadIncomplete,
    UploadTooLarge,
)
from course_supporter.storage.keys import validate_key, validate_prefix
from course_supporter.storage.signed_urls import SignedPut, UploadSigner, load_or_create_secret

WRITE_BUFFER_BYTES = 1024 * 1024
COPY_CHUNK_BYTES = 1024 * 1024
TEMP_SUFFIX = ".part"
PARTS_SUFFIX = ".parts"
PARTS_MARKER = "started"


class LocalStorage:
    """Objects as files under `root`; every key is checked to resolve inside it.

    Direct uploads go to the API itself: `presign_upload` signs URLs of the PUT route
    (`storage/endpoints.py`), `receive_signed_put` stores what arrives there. Parts of a
    multipart upload wait in a hidden `.{upload_id}.parts` directory next to the object.
    """

    def __init__(
        self,
        root: Path,
        *,
        max_upload_bytes: int,
        health_check_timeout_seconds: float = 2.0,
        part_size_bytes: int = 10 * 1024 * 1024,
        presigned_url_ttl_seconds: int = 3600,
        upload_base_url: str = "",
        signing_secret: str | None = None,
    ) -> None:
        self.root = root.resolve()
        self.max_upload_bytes = max_upload_bytes
        self.health_check_timeout_seconds = health_check_timeout_seconds
        self.part_size_bytes = part_size_bytes
        self.presigned_url_ttl_seconds = presigned_url_ttl_seconds
        self.upload_base_url = upload_base_url
        self._signer = UploadSigner(signing_secret.encode()) if signing_secret else None

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
        """Sign one PUT for up to one part, else open a multipart upload with a URL per part."""
        if size < 0:
            raise ValueError("size must not be negative")
        if size > self.max_upload_bytes:
            raise UploadTooLarge(self.max_upload_bytes)
        self.path_for(key)
        signer = await self._upload_signer()
        expires = math.ceil(time.time()) + self.presigned_url_ttl_seconds
        expires_at = datetime.fromtimestamp(expires, UTC)
        if size <= self.part_size_bytes:
            url = signer.url(self.upload_base_url, SignedPut(key, size, expires))
            headers = {"Content-Type": content_type}
            return PresignedUpload(key, size, expires_at, url=url, headers=headers)
        part_size = direct_part_size(size, self.part_size_bytes)
        upload_id = uuid.uuid4().hex
        await asyncio.to_thread(_start_parts, self._parts_dir(key, upload_id))
        parts = []
        for number in range(1, math.ceil(size / part_size) + 1):
            part_bytes = min(part_size, size - (number - 1) * part_size)
            put = SignedPut(key, part_bytes, expires, upload_id, number)
            parts.append(PresignedPart(number, signer.url(self.upload_base_url, put), part_bytes))
        return PresignedUpload(
            key, size, expires_at, upload_id=upload_id, part_size=part_size, parts=tuple(parts)
        )

    async def receive_signed_put(
        self,
        put: SignedPut,
        signature: str,
        *,
        content_length: int | None,
        body: AsyncIterable[bytes],
    ) -> str:
        """Store the body of a PUT to a signed URL; return its ETag (quoted MD5, as S3 does).

        The body must be exactly the signed length: a declared length that differs is refused
        before reading, a body that runs past it is cut off there, a short one is discarded.
        """
        (await self._upload_signer()).verify(put, signature)
        self.path_for(put.key)
        if content_length is None:
            raise LengthRequired(
                f"send a Content-Length header: this URL takes exactly {put.length} bytes"
            )
        if content_length > put.length:
            raise UploadTooLarge(put.length)
        if content_length < put.length:
            raise LengthMismatch(
                f"this URL takes exactly {put.length} bytes, the request declares {content_length}"
            )
        writer = await self._open_put_writer(put)
        md5 = hashlib.md5(usedforsecurity=False)
        async with writer:
            async for chunk in body:
                await writer.write(chunk)
                md5.update(chunk)
            if writer.size != put.length:
                raise LengthMismatch(
                    f"the body ended after {writer.size} of {put.length} bytes; nothing was stored"
                )
            await writer.complete()
        return f'"{md5.hexdigest()}"'

    async def complete_presigned(
        self,
        key: str,
        *,
        size: int,
        upload_id: str | None = None,
        parts: Sequence[UploadedPart] = (),
    ) -> StoredObject:
        """Finish a direct upload; a wrong or oversized result is deleted and reported."""
        self.path_for(key)
        assembled = None
        if upload_id is not None:
            assembled = await self._assemble_parts(key, size, upload_id, parts)
        stored_size = await check_stored_size(self, key, size)
        return assembled or StoredObject(key, stored_size, None)

    async def abort_presigned(self, key: str, upload_id: str | None = None) -> None:
        """Drop the waiting parts (if any) and the object under `key`."""
        if upload_id is not None:
            await asyncio.to_thread(_remove_parts, self._parts_dir(key, upload_id), self.root)
        await self.delete(key)

    async def abort_stale_uploads(self, older_than: timedelta) -> int:
        """Remove temp files a crashed process left, and multipart uploads nobody finished."""
        cutoff = time.time() - older_than.total_seconds()
        return await asyncio.to_thread(_remove_stale_temp_files, self.root, cutoff)

    def _parts_dir(self, key: str, upload_id: str) -> Path:
        if not upload_id.isalnum():
            raise InvalidKey(f"invalid upload id {upload_id!r}")
        path = self.path_for(key)
        return path.parent / f".{path.name}.{upload_id}{PARTS_SUFFIX}"

    async def _upload_signer(self) -> UploadSigner:
        if self._signer is None:
            secret = await asyncio.to_thread(load_or_create_secret, self.root)
            self._signer = UploadSigner(secret)
        return self._signer

    async def _open_put_writer(self, put: SignedPut) -> ObjectWriter:
        if put.upload_id is None or put.part_number is None:
            return await self.open_writer(put.key, "", max_bytes=put.length)
        directory = self._parts_dir(put.key, put.upload_id)
        temp = directory / f".{uuid.uuid4().hex}{TEMP_SUFFIX}"
        try:
            # No mkdir: a part must not resurrect an upload that was completed or aborted.
            file = await asyncio.to_thread(temp.open, "xb")
        except FileNotFoundError as error:
            raise ObjectNotFound(
                f"no open multipart upload {put.upload_id!r} for {put.key!r}"
            ) from error
        part = directory / f"{put.part_number:05d}"
        return LocalWriter(put.key, put.length, root=self.root, path=part, temp=temp, file=file)

    async def _assemble_parts(
        self, key: str, size: int, upload_id: str, reported: Sequence[UploadedPart]
    ) -> StoredObject | None:
        """Concatenate the parts into the object (flat memory), drop them; None if done before."""
        directory = self._parts_dir(key, upload_id)
        listed = await asyncio.to_thread(_list_parts, directory)
        if listed is None:
            if await self.head(key) == size:
                return None  # completed by an earlier call that failed after this point
            raise ObjectNotFound(f"no open direct upload {upload_id!r} for {key!r}")
        received = sum(part_size for _, part_size, _ in listed)
        numbers = [number for number, _, _ in listed]
        problem = check_received_parts(received, size, numbers, self.max_upload_bytes)
        if problem is not None:
            refusal, discard = problem
            if discard:
                await self.abort_presigned(key, upload_id)
            raise refusal
        expected = {part.part_number: part.etag.strip('"') for part in reported}
        async with await self.open_writer(key, "", max_bytes=size) as writer:
            for number, _, path in listed:
                etag = await _append_file(path, writer)
                if expected and expected.get(number) != etag:
                    raise UploadIncomplete(
                        "the parts and ETags sent do not match what storage received; "
                        "re-upload the differing parts or complete without a parts list"
                    )
            if expected and set(expected) != set(numbers):
                raise UploadIncomplete(
                    "the parts and ETags sent do not match what storage received; "
                    "re-upload the differing parts or complete without a parts list"
                )
            stored = await writer.complete()
        await asyncio.to_thread(_remove_parts, directory, self.root)
        return stored

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


async def _append_file(path: Path, writer: ObjectWriter) -> str:
    """Stream one part file into `writer`; return its MD5 hex (the part's ETag)."""
    md5 = hashlib.md5(usedforsecurity=False)
    file = await asyncio.to_thread(path.open, "rb")
    try:
        while chunk := await asyncio.to_thread(file.read, COPY_CHUNK_BYTES):
            md5.update(chunk)
            await writer.write(chunk)
    finally:
        await asyncio.to_thread(file.close)
    return md5.hexdigest()


def _list_parts(directory: Path) -> list[tuple[int, int, Path]] | None:
    """(number, size, path) of each finished part, by number; None if no such upload."""
    try:
        entries = list(directory.iterdir())
    except FileNotFoundError:
        return None
    parts = [(int(p.name), p.stat().st_size, p) for p in entries if p.name.isdigit()]
    return sorted(parts)


def _start_parts(directory: Path) -> None:
    directory.mkdir(parents=True)
    # Keeps the directory from looking empty, and so from being pruned, while no part is in.
    (directory / PARTS_MARKER).touch()


def _remove_parts(directory: Path, root: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    _prune_empty_parents(directory, root)


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
    _prune_empty_parents(path, root)


def _prune_empty_parents(path: Path, root: Path) -> None:
    for parent in path.parents:
        if parent == root or not parent.is_relative_to(root):
            break
        try:
            parent.rmdir()
        except OSError:
            break


def _remove_stale_temp_files(root: Path, cutoff: float) -> int:
    # os.walk rather than rglob: it shrugs off directories that vanish while it looks.
    stale: list[tuple[Path, bool]] = []
    for directory, subdirectories, files in os.walk(root):
        here = Path(directory)
        for name in [d for d in subdirectories if _is_hidden(d, PARTS_SUFFIX)]:
            subdirectories.remove(name)
            stale.append((here / name, True))
        stale.extend((here / name, False) for name in files if _is_hidden(name, TEMP_SUFFIX))
    removed = 0
    for path, is_parts in stale:
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime >= cutoff:
                continue
            if is_parts:
                _remove_parts(path, root)
            else:
                _remove_file(path, root)
            removed += 1
    return removed


def _is_hidden(name: str, suffix: str) -> bool:
    return name.startswith(".") and name.endswith(suffix)


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
