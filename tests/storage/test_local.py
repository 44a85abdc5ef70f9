from __future__ import annotations

import hashlib
import os
import stat
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from course_supporter.config import Settings
from course_supporter.storage import (
    InvalidKey,
    LengthMismatch,
    LocalStorage,
    ObjectNotFound,
    PresignedUpload,
    SignatureRejected,
    StorageUnavailable,
    UploadTooLarge,
    build_storage,
    course_prefix,
    material_key,
)
from course_supporter.storage.signed_urls import SECRET_FILENAME, UPLOAD_PATH, SignedPut
from tests.storage.conftest import MAX_BYTES

KEY = "tenants/t1/courses/c1/materials/m1/notes.txt"


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


async def test_write_complete_and_read_back(local_storage: LocalStorage, tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    writer = await local_storage.open_writer(KEY, "text/plain")
    for start in range(0, len(data), 100_000):
        await writer.write(data[start : start + 100_000])
    stored = await writer.complete()

    assert stored.key == KEY
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert files_under(local_storage.root) == [KEY]
    assert await local_storage.head(KEY) == len(data)

    downloaded = await local_storage.download_to(KEY, tmp_path / "copy")
    assert (tmp_path / "copy").read_bytes() == data
    assert downloaded == stored


async def test_nothing_is_visible_before_complete(local_storage: LocalStorage) -> None:
    writer = await local_storage.open_writer(KEY, "text/plain")
    await writer.write(b"x" * 2_000_000)
    assert await local_storage.head(KEY) is None
    await writer.abort()
    assert list(local_storage.root.iterdir()) == []  # no file, no empty folders


async def test_abort_on_error_inside_the_block_removes_the_temp_file(
    local_storage: LocalStorage,
) -> None:
    with pytest.raises(RuntimeError):
        async with await local_storage.open_writer(KEY, "text/plain") as writer:
            await writer.write(b"partial")
            raise RuntimeError("client went away")
    assert files_under(local_storage.root) == []


async def test_size_limit_mid_stream_aborts(local_storage: LocalStorage) -> None:
    writer = await local_storage.open_writer(KEY, "text/plain", max_bytes=1000)
    await writer.write(b"a" * 600)
    with pytest.raises(UploadTooLarge, match="1000 bytes"):
        await writer.write(b"a" * 600)
    assert files_under(local_storage.root) == []
    assert await local_storage.head(KEY) is None


@pytest.mark.parametrize(
    "key", ["../outside.txt", "tenants/../../outside", "/etc/passwd", "a/./b", "a\\..\\b"]
)
async def test_keys_outside_the_directory_are_refused(
    local_storage: LocalStorage, key: str
) -> None:
    with pytest.raises(InvalidKey):
        await local_storage.open_writer(key, "text/plain")
    with pytest.raises(InvalidKey):
        await local_storage.delete(key)


async def test_a_symlink_out_of_the_directory_is_refused(
    local_storage: LocalStorage, tmp_path: Path
) -> None:
    (tmp_path / "elsewhere").mkdir()
    (local_storage.root / "tenants").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(InvalidKey, match="outside the storage directory"):
        await local_storage.open_writer("tenants/x/file.txt", "text/plain")


async def test_traversal_filename_stays_inside_the_material_folder(
    local_storage: LocalStorage,
) -> None:
    key = material_key("t1", "c1", "m1", "../../../../etc/passwd")
    async with await local_storage.open_writer(key, "text/plain") as writer:
        await writer.write(b"harmless")
        await writer.complete()
    assert files_under(local_storage.root) == ["tenants/t1/courses/c1/materials/m1/passwd"]


async def test_delete_and_delete_prefix(local_storage: LocalStorage) -> None:
    for course, material in [("c1", "m1"), ("c1", "m2"), ("c2", "m3")]:
        async with await local_storage.open_writer(
            material_key("t1", course, material, "f.txt"), "text/plain"
        ) as writer:
            await writer.write(b"data")
            await writer.complete()

    await local_storage.delete(material_key("t1", "c1", "m1", "f.txt"))
    await local_storage.delete(material_key("t1", "c1", "m1", "f.txt"))  # idempotent
    assert not (local_storage.root / "tenants/t1/courses/c1/materials/m1").exists()

    assert await local_storage.delete_prefix(course_prefix("t1", "c1")) == 1
    assert files_under(local_storage.root) == ["tenants/t1/courses/c2/materials/m3/f.txt"]
    assert await local_storage.delete_prefix(course_prefix("t1", "c1")) == 0
    with pytest.raises(InvalidKey):
        await local_storage.delete_prefix("tenants/t1")


async def test_download_of_a_missing_object(local_storage: LocalStorage, tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFound):
        await local_storage.download_to(KEY, tmp_path / "copy")


async def test_check_passes_and_leaves_no_probe(local_storage: LocalStorage) -> None:
    await local_storage.check()
    assert files_under(local_storage.root) == []


async def test_check_fails_clearly_when_the_directory_is_unusable(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("x")
    storage = LocalStorage(not_a_directory, max_upload_bytes=10)
    with pytest.raises(StorageUnavailable, match="cannot write to storage directory"):
        await storage.check()
    with pytest.raises(StorageUnavailable, match="cannot create storage directory"):
        await storage.ensure_bucket()


def signed_put(url: str) -> tuple[SignedPut, str]:
    """What the PUT route reads from a signed URL: key from the path, the rest from the query."""
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    number = query.get("part_number")
    put = SignedPut(
        parts.path.removeprefix(UPLOAD_PATH.lstrip("/")),
        int(query["length"]),
        int(query["expires"]),
        query.get("upload_id"),
        int(number) if number else None,
    )
    return put, query["signature"]


async def chunks(*pieces: bytes, consumed: list[bytes] | None = None) -> AsyncIterator[bytes]:
    for piece in pieces:
        if consumed is not None:
            consumed.append(piece)
        yield piece


async def put_to(storage: LocalStorage, url: str, data: bytes) -> str:
    put, signature = signed_put(url)
    return await storage.receive_signed_put(
        put, signature, content_length=len(data), body=chunks(data)
    )


async def test_presigned_put_stores_exactly_the_signed_bytes(local_storage: LocalStorage) -> None:
    upload = await local_storage.presign_upload(KEY, 11, "text/plain")
    assert upload.url is not None and upload.url.startswith("storage/uploads/tenants/")
    etag = await put_to(local_storage, upload.url, b"hello world")
    assert etag == f'"{hashlib.md5(b"hello world").hexdigest()}"'
    stored = await local_storage.complete_presigned(KEY, size=11)
    assert stored.size == 11
    assert (local_storage.root / KEY).read_bytes() == b"hello world"


async def test_a_body_past_the_signed_length_is_cut_off_there(
    local_storage: LocalStorage,
) -> None:
    upload = await local_storage.presign_upload(KEY, 10, "text/plain")
    assert upload.url is not None
    put, signature = signed_put(upload.url)
    consumed: list[bytes] = []
    body = chunks(b"x" * 8, b"x" * 8, b"x" * 8, b"x" * 8, consumed=consumed)
    with pytest.raises(UploadTooLarge):
        # A Content-Length that lies: the signed length still bounds what is read.
        await local_storage.receive_signed_put(put, signature, content_length=10, body=body)
    assert len(consumed) == 2
    assert [f for f in files_under(local_storage.root) if f != SECRET_FILENAME] == []


async def test_a_short_body_is_discarded(local_storage: LocalStorage) -> None:
    upload = await local_storage.presign_upload(KEY, 10, "text/plain")
    assert upload.url is not None
    put, signature = signed_put(upload.url)
    with pytest.raises(LengthMismatch, match="ended after 4 of 10 bytes"):
        await local_storage.receive_signed_put(
            put, signature, content_length=10, body=chunks(b"four")
        )
    assert files_under(local_storage.root) == [SECRET_FILENAME]


async def test_the_generated_secret_is_private_and_shared_by_the_directory(
    tmp_path: Path,
) -> None:
    first = LocalStorage(tmp_path / "storage", max_upload_bytes=MAX_BYTES)
    upload = await first.presign_upload(KEY, 3, "text/plain")
    assert upload.url is not None
    secret = first.root / SECRET_FILENAME
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    # Another process on the same directory accepts the URL; one with its own secret does not.
    second = LocalStorage(tmp_path / "storage", max_upload_bytes=MAX_BYTES)
    await put_to(second, upload.url, b"abc")
    configured = LocalStorage(
        tmp_path / "storage", max_upload_bytes=MAX_BYTES, signing_secret="s" * 32
    )
    with pytest.raises(SignatureRejected):
        await put_to(configured, upload.url, b"abc")
    assert len(secret.read_text().strip()) == 64


def multipart(upload: PresignedUpload) -> tuple[str, str]:
    assert upload.upload_id is not None
    return upload.upload_id, upload.parts[0].url


async def test_a_failed_part_keeps_the_upload_open(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "storage", max_upload_bytes=MAX_BYTES, part_size_bytes=4)
    upload = await storage.presign_upload(KEY, 6, "text/plain")
    upload_id, first_url = multipart(upload)
    put, signature = signed_put(first_url)
    with pytest.raises(LengthMismatch):
        await storage.receive_signed_put(put, signature, content_length=4, body=chunks(b"ab"))
    await put_to(storage, first_url, b"abcd")
    await put_to(storage, upload.parts[1].url, b"ef")
    stored = await storage.complete_presigned(KEY, size=6, upload_id=upload_id)
    assert stored.sha256 == hashlib.sha256(b"abcdef").hexdigest()
    assert files_under(storage.root) == [SECRET_FILENAME, KEY]
    with pytest.raises(ObjectNotFound):  # the upload is closed: no part resurrects it
        await put_to(storage, first_url, b"abcd")


async def test_stale_multipart_uploads_are_swept(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "storage", max_upload_bytes=MAX_BYTES, part_size_bytes=4)
    upload = await storage.presign_upload(KEY, 6, "text/plain")
    _, first_url = multipart(upload)
    await put_to(storage, first_url, b"abcd")
    assert await storage.abort_stale_uploads(timedelta(hours=1)) == 0
    [parts] = storage.root.rglob(".*.parts")
    os.utime(parts, (time.time() - 7200, time.time() - 7200))
    assert await storage.abort_stale_uploads(timedelta(hours=1)) == 1
    assert files_under(storage.root) == [SECRET_FILENAME]
    assert [p for p in storage.root.iterdir() if p.is_dir()] == []


async def test_stale_temp_files_are_swept(local_storage: LocalStorage) -> None:
    writer = await local_storage.open_writer(KEY, "text/plain")
    await writer.write(b"x" * 2_000_000)  # a crashed process would leave this behind
    assert await local_storage.abort_stale_uploads(timedelta(hours=1)) == 0
    temp = next(local_storage.root.rglob(".*.part"))
    os.utime(temp, (time.time() - 7200, time.time() - 7200))
    assert await local_storage.abort_stale_uploads(timedelta(hours=1)) == 1
    assert files_under(local_storage.root) == []
    await writer.abort()


def test_build_storage_defaults_to_local(tmp_path: Path) -> None:
    storage = build_storage(Settings(storage_dir=tmp_path / "s", max_upload_bytes=123))
    assert isinstance(storage, LocalStorage)
    assert storage.max_upload_bytes == 123


@pytest.mark.parametrize("signature", ["", "é" * 64, "\udcff", "0" * 64])
async def test_any_wrong_signature_is_rejected(local_storage: LocalStorage, signature: str) -> None:
    upload = await local_storage.presign_upload(KEY, 3, "text/plain")
    assert upload.url is not None
    put, _ = signed_put(upload.url)
    with pytest.raises(SignatureRejected, match="does not match"):
        await local_storage.receive_signed_put(
            put, signature, content_length=3, body=chunks(b"abc")
        )
