from __future__ import annotations

import base64
import binascii
import hashlib
import os
import socket
import time
import tracemalloc
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import httpx
import pytest

from course_supporter.config import Settings, StorageBackend
from course_supporter.storage import (
    InvalidKey,
    ObjectNotFound,
    S3Settings,
    S3Storage,
    StorageUnavailable,
    UploadIncomplete,
    UploadTooLarge,
    build_storage,
    course_prefix,
    material_key,
)
from course_supporter.storage.backend import direct_part_size
from tests.s3_server import S3Server
from tests.servers import free_port
from tests.storage.conftest import MAX_BYTES, PART_SIZE, BucketView, make_s3_storage, s3_settings

KEY = "tenants/t1/courses/c1/materials/m1/lecture.mp4"


async def store(storage: S3Storage, key: str, data: bytes, chunk: int = 256 * 1024) -> None:
    async with await storage.open_writer(key, "video/mp4") as writer:
        for start in range(0, len(data), chunk):
            await writer.write(data[start : start + chunk])
        await writer.complete()


async def test_small_object_is_one_put(s3_storage: S3Storage, bucket_view: BucketView) -> None:
    data = os.urandom(1_000_000)
    writer = await s3_storage.open_writer(KEY, "video/mp4")
    await writer.write(data[:300_000])
    await writer.write(data[300_000:])
    assert bucket_view.open_uploads() == []  # still buffered: no multipart started
    stored = await writer.complete()

    assert (stored.size, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert bucket_view.read(KEY) == data
    assert "-" not in bucket_view.etag(KEY)  # a plain PUT, not a multipart ETag
    head = bucket_view.client.head_object(Bucket=bucket_view.bucket, Key=KEY)
    assert head["ContentType"] == "video/mp4"


async def test_empty_object(s3_storage: S3Storage, bucket_view: BucketView) -> None:
    stored = await (await s3_storage.open_writer(KEY, "text/plain")).complete()
    assert stored.size == 0
    assert bucket_view.read(KEY) == b""


@pytest.mark.parametrize("parts_in_flight", [0, 1, 3])
async def test_large_object_is_a_multipart_upload_of_several_parts(
    s3_server: S3Server, bucket_view: BucketView, parts_in_flight: int
) -> None:
    storage = make_s3_storage(s3_server, bucket_view.bucket, parts_in_flight=parts_in_flight)
    data = os.urandom(3 * PART_SIZE + 1234)
    writer = await storage.open_writer(KEY, "video/mp4")
    for start in range(0, len(data), 64 * 1024):
        await writer.write(data[start : start + 64 * 1024])
        assert writer.buffered_bytes < PART_SIZE  # type: ignore[attr-defined]
    assert bucket_view.open_uploads() == [KEY]
    assert bucket_view.keys() == []
    stored = await writer.complete()

    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert bucket_view.etag(KEY).endswith('-4"')
    assert bucket_view.read(KEY) == data
    assert bucket_view.open_uploads() == []
    await storage.close()


@pytest.mark.parametrize("parts_in_flight", [0, 1, 2])
async def test_parts_are_exact_and_refilled_buffers_carry_nothing_over(
    s3_server: S3Server, bucket_view: BucketView, parts_in_flight: int
) -> None:
    # Odd chunk sizes straddle part boundaries; the short last part reuses a full buffer.
    storage = make_s3_storage(s3_server, bucket_view.bucket, parts_in_flight=parts_in_flight)
    data = os.urandom(4 * PART_SIZE + 777)
    writer = await storage.open_writer(KEY, "video/mp4")
    for start in range(0, len(data), 100_003):
        await writer.write(data[start : start + 100_003])
    stored = await writer.complete()

    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert bucket_view.read(KEY) == data
    sizes = [
        bucket_view.client.head_object(Bucket=bucket_view.bucket, Key=KEY, PartNumber=n)[
            "ContentLength"
        ]
        for n in range(1, 6)
    ]
    assert sizes == [PART_SIZE] * 4 + [777]
    await storage.close()


async def test_multipart_upload_is_a_crc32_one_with_checksummed_parts(
    s3_storage: S3Storage, bucket_view: BucketView
) -> None:
    data = os.urandom(2 * PART_SIZE + 10)
    await store(s3_storage, KEY, data)
    head = bucket_view.client.head_object(
        Bucket=bucket_view.bucket, Key=KEY, ChecksumMode="ENABLED"
    )
    parts = [data[i : i + PART_SIZE] for i in range(0, len(data), PART_SIZE)]
    composite = binascii.crc32(b"".join(binascii.crc32(p).to_bytes(4, "big") for p in parts))
    # the CRC32 of the parts' CRC32s (AWS appends "-3", moto does not)
    assert (
        head["ChecksumCRC32"].split("-")[0]
        == base64.b64encode(composite.to_bytes(4, "big")).decode()
    )
    assert bucket_view.read(KEY) == data


async def test_without_checksums_uploads_are_signed_and_plain(
    s3_server: S3Server, bucket_view: BucketView
) -> None:
    storage = make_s3_storage(s3_server, bucket_view.bucket, checksum="none")
    assert not storage.sends_checksums
    data = os.urandom(2 * PART_SIZE + 10)
    await store(storage, KEY, data)
    head = bucket_view.client.head_object(
        Bucket=bucket_view.bucket, Key=KEY, ChecksumMode="ENABLED"
    )
    assert "ChecksumCRC32" not in head
    assert bucket_view.read(KEY) == data
    await storage.close()


@pytest.mark.parametrize(
    ("checksum", "endpoint_url", "sends"),
    [
        ("auto", None, True),  # AWS
        ("auto", "http://127.0.0.1:9000", True),  # MinIO
        ("auto", "https://s3.eu-central-003.backblazeb2.com", False),
        ("crc32", "https://s3.eu-central-003.backblazeb2.com", True),
        ("none", None, False),
    ],
)
def test_checksums_are_off_for_backblaze_unless_chosen(
    checksum: str, endpoint_url: str | None, sends: bool
) -> None:
    storage = S3Storage(s3_settings(bucket="b", endpoint_url=endpoint_url, checksum=checksum))
    assert storage.sends_checksums is sends


async def test_upload_memory_is_bounded_by_the_parts_in_flight(
    s3_server: S3Server, bucket_view: BucketView
) -> None:
    storage = make_s3_storage(s3_server, bucket_view.bucket, parts_in_flight=1)
    await storage.check()  # load botocore's models before measuring
    chunk = os.urandom(64 * 1024)
    tracemalloc.start()
    try:
        async with await storage.open_writer(KEY, "video/mp4") as writer:
            for _ in range(6 * PART_SIZE // len(chunk)):
                await writer.write(chunk)
            await writer.complete()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # one part filling, one uploading, plus client overhead; never the whole 30 MiB
    assert peak < 2 * PART_SIZE + 4 * 1024 * 1024
    await storage.close()


async def test_abort_mid_multipart_leaves_no_object_and_no_parts(
    s3_storage: S3Storage, bucket_view: BucketView
) -> None:
    with pytest.raises(ConnectionResetError):
        async with await s3_storage.open_writer(KEY, "video/mp4") as writer:
            await writer.write(os.urandom(PART_SIZE + 10))
            assert bucket_view.open_uploads() == [KEY]
            raise ConnectionResetError("client disconnected")
    assert bucket_view.open_uploads() == []
    assert bucket_view.keys() == []


async def test_size_limit_mid_stream_aborts_the_multipart_upload(
    s3_storage: S3Storage, bucket_view: BucketView
) -> None:
    limit = PART_SIZE + 100
    writer = await s3_storage.open_writer(KEY, "video/mp4", max_bytes=limit)
    await writer.write(os.urandom(PART_SIZE))
    assert bucket_view.open_uploads() == [KEY]
    with pytest.raises(UploadTooLarge) as raised:
        await writer.write(os.urandom(200))
    assert raised.value.max_bytes == limit
    assert bucket_view.open_uploads() == []
    assert bucket_view.keys() == []
    await writer.abort()  # harmless second abort


async def test_default_limit_comes_from_max_upload_bytes(s3_storage: S3Storage) -> None:
    writer = await s3_storage.open_writer(KEY, "video/mp4")
    assert writer.max_bytes == MAX_BYTES
    await writer.abort()


@pytest.mark.parametrize("parts_in_flight", [0, 1])
async def test_a_storage_error_mid_upload_aborts(
    s3_server: S3Server,
    bucket_view: BucketView,
    monkeypatch: pytest.MonkeyPatch,
    parts_in_flight: int,
) -> None:
    # moto answers 500 (real S3: 404) for a vanished upload; don't sit through the retries
    monkeypatch.setattr("course_supporter.storage.s3.connection.MAX_ATTEMPTS", 1)
    storage = make_s3_storage(s3_server, bucket_view.bucket, parts_in_flight=parts_in_flight)
    writer = await storage.open_writer(KEY, "video/mp4")
    await writer.write(os.urandom(PART_SIZE))
    upload_id = writer._upload_id  # type: ignore[attr-defined]
    bucket_view.client.abort_multipart_upload(
        Bucket=bucket_view.bucket, Key=KEY, UploadId=upload_id
    )  # the upload vanishes under the writer
    with pytest.raises(StorageUnavailable, match="storing"):
        # Parts upload in the background: the failure surfaces by complete() at the latest.
        await writer.write(os.urandom(PART_SIZE))
        await writer.write(os.urandom(PART_SIZE))  # a background part reports here at the latest
        await writer.complete()
    assert bucket_view.open_uploads() == []
    assert bucket_view.keys() == []
    await storage.close()


async def test_traversal_filenames_stay_in_their_namespace(
    s3_storage: S3Storage, bucket_view: BucketView
) -> None:
    key = material_key("t1", "c1", "m1", "..\\../../other-tenant/x.pdf")
    await store(s3_storage, key, b"%PDF-1.7")
    assert bucket_view.keys() == ["tenants/t1/courses/c1/materials/m1/x.pdf"]
    for bad in ["../x", "a/../../b", "/abs", "a//b"]:
        with pytest.raises(InvalidKey):
            await s3_storage.open_writer(bad, "text/plain")


async def test_head_delete_download(
    s3_storage: S3Storage, bucket_view: BucketView, tmp_path: Path
) -> None:
    data = os.urandom(PART_SIZE + 5)
    await store(s3_storage, KEY, data)
    assert await s3_storage.head(KEY) == len(data)

    downloaded = await s3_storage.download_to(KEY, tmp_path / "copy")
    assert (tmp_path / "copy").read_bytes() == data
    assert downloaded.sha256 == hashlib.sha256(data).hexdigest()

    await s3_storage.delete(KEY)
    await s3_storage.delete(KEY)
    assert await s3_storage.head(KEY) is None
    with pytest.raises(ObjectNotFound):
        await s3_storage.download_to(KEY, tmp_path / "missing")


async def test_delete_prefix_removes_objects_and_open_uploads_of_one_course(
    s3_storage: S3Storage, bucket_view: BucketView
) -> None:
    for course, material in [("c1", "m1"), ("c1", "m2"), ("c10", "m3")]:
        await store(s3_storage, material_key("t1", course, material, "f.txt"), b"data")
    open_writer = await s3_storage.open_writer(material_key("t1", "c1", "m4", "big.mp4"), "v/x")
    await open_writer.write(os.urandom(PART_SIZE))  # a multipart upload in flight

    assert await s3_storage.delete_prefix(course_prefix("t1", "c1")) == 2
    assert bucket_view.keys() == ["tenants/t1/courses/c10/materials/m3/f.txt"]
    assert bucket_view.open_uploads() == []
    await open_writer.abort()
    with pytest.raises(InvalidKey):
        await s3_storage.delete_prefix("tenants/t1/courses/c1")


async def test_delete_prefix_pages_through_many_objects(
    s3_storage: S3Storage, bucket_view: BucketView, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("course_supporter.storage.s3.objects.DELETE_BATCH", 4)
    for index in range(10):
        bucket_view.client.put_object(
            Bucket=bucket_view.bucket, Key=f"tenants/t1/courses/c1/materials/m{index}/f", Body=b""
        )
    assert await s3_storage.delete_prefix(course_prefix("t1", "c1")) == 10
    assert bucket_view.keys() == []


async def test_check_passes_on_a_healthy_bucket(s3_storage: S3Storage) -> None:
    await s3_storage.check()


async def test_check_reports_wrong_credentials(s3_server_with_auth: S3Server) -> None:
    storage = S3Storage(
        s3_settings(
            bucket="any",
            endpoint_url=s3_server_with_auth.endpoint_url,
            access_key_id="AKIAWRONGWRONGWRONG",
            secret_access_key="wrong",
        )
    )
    with pytest.raises(StorageUnavailable, match=r"denied access.*S3_ACCESS_KEY_ID"):
        await storage.check()
    await storage.close()


async def test_check_reports_an_unreachable_endpoint() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    storage = S3Storage(
        s3_settings(bucket="any", endpoint_url=endpoint, access_key_id="a", secret_access_key="b")
    )
    with pytest.raises(StorageUnavailable, match=f"cannot reach S3 endpoint {endpoint}"):
        await storage.check()
    await storage.close()


async def test_check_times_out_on_an_endpoint_that_never_answers(s3_server: S3Server) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts connections into the backlog, never replies
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        storage = make_s3_storage(
            s3_server, "any", endpoint_url=endpoint, health_check_timeout_seconds=0.3
        )
        started = time.monotonic()
        with pytest.raises(StorageUnavailable, match=r"did not answer within 0.3s|timeout"):
            await storage.check()
        assert time.monotonic() - started < 2
        await storage.close()


async def test_missing_bucket_is_reported_then_created_at_start_up(s3_server: S3Server) -> None:
    storage = make_s3_storage(s3_server, f"missing-{uuid4().hex[:8]}")
    with pytest.raises(StorageUnavailable, match="does not exist"):
        await storage.check()
    await storage.ensure_bucket()
    await storage.ensure_bucket()  # idempotent
    await storage.check()
    await storage.close()


async def test_missing_bucket_is_an_error_when_creation_is_off(s3_server: S3Server) -> None:
    storage = make_s3_storage(s3_server, f"missing-{uuid4().hex[:8]}", create_bucket=False)
    with pytest.raises(StorageUnavailable, match="S3_CREATE_BUCKET is false"):
        await storage.ensure_bucket()
    await storage.close()


async def test_bucket_in_another_region_is_created(s3_server: S3Server) -> None:
    storage = make_s3_storage(s3_server, f"eu-{uuid4().hex[:8]}", region="eu-central-1")
    await storage.ensure_bucket()
    await store(storage, KEY, b"hello")
    assert await storage.head(KEY) == 5
    await storage.close()


async def test_presigned_single_put_end_to_end(
    s3_storage: S3Storage, bucket_view: BucketView
) -> None:
    data = os.urandom(200_000)
    upload = await s3_storage.presign_upload(KEY, len(data), "video/mp4")
    assert upload.url is not None
    assert upload.upload_id is None
    assert upload.parts == ()

    with pytest.raises(UploadIncomplete, match="nothing has been uploaded"):
        await s3_storage.complete_presigned(KEY, size=len(data))

    async with httpx.AsyncClient() as http:
        response = await http.put(upload.url, content=data, headers=upload.headers)
    assert response.status_code == 200, response.text

    stored = await s3_storage.complete_presigned(KEY, size=len(data))
    assert (stored.key, stored.size, stored.sha256) == (KEY, len(data), None)
    assert bucket_view.read(KEY) == data


async def test_presigned_multipart_end_to_end(
    s3_storage: S3Storage, bucket_view: BucketView
) -> None:
    data = os.urandom(2 * PART_SIZE + 777)
    upload = await s3_storage.presign_upload(KEY, len(data), "video/mp4")
    assert upload.url is None
    assert upload.upload_id is not None
    assert upload.part_size == PART_SIZE
    assert [part.size for part in upload.parts] == [PART_SIZE, PART_SIZE, 777]

    async with httpx.AsyncClient(timeout=30) as http:
        for part in upload.parts[:2]:
            offset = (part.part_number - 1) * PART_SIZE
            response = await http.put(part.url, content=data[offset : offset + part.size])
            assert response.status_code == 200, response.text
        with pytest.raises(UploadIncomplete, match="upload the missing parts"):
            await s3_storage.complete_presigned(KEY, size=len(data), upload_id=upload.upload_id)
        last = upload.parts[2]
        response = await http.put(last.url, content=data[2 * PART_SIZE :])
        assert response.status_code == 200

    stored = await s3_storage.complete_presigned(KEY, size=len(data), upload_id=upload.upload_id)
    assert stored.size == len(data)
    assert bucket_view.read(KEY) == data
    assert bucket_view.open_uploads() == []


async def test_presigned_upload_of_the_wrong_size_is_discarded(
    s3_storage: S3Storage, bucket_view: BucketView
) -> None:
    upload = await s3_storage.presign_upload(KEY, 100, "text/plain")
    assert upload.url is not None
    async with httpx.AsyncClient() as http:
        await http.put(upload.url, content=b"x" * 150, headers=upload.headers)
    with pytest.raises(UploadIncomplete, match="150 bytes, 100 were announced"):
        await s3_storage.complete_presigned(KEY, size=100)
    assert bucket_view.keys() == []


async def test_presigned_urls_sign_their_content_length(s3_storage: S3Storage) -> None:
    # moto accepts any body at a presigned URL (it checks no presigned signature, and with
    # auth on it fails them all), so this checks the signature itself: real S3 refuses a
    # PUT whose Content-Length differs from a signed one with 403 SignatureDoesNotMatch.
    single = await s3_storage.presign_upload(KEY, 100, "text/plain")
    parted = await s3_storage.presign_upload(KEY, 2 * PART_SIZE + 1, "video/mp4")
    for url in [single.url, *(part.url for part in parted.parts)]:
        assert url is not None
        query = parse_qs(urlsplit(url).query)
        assert "content-length" in query["X-Amz-SignedHeaders"][0].split(";")
    assert parted.upload_id is not None
    await s3_storage.abort_presigned(KEY, parted.upload_id)


async def test_presigned_upload_over_the_limit_is_refused(s3_storage: S3Storage) -> None:
    with pytest.raises(UploadTooLarge):
        await s3_storage.presign_upload(KEY, MAX_BYTES + 1, "video/mp4")


async def test_presigned_put_over_the_limit_is_deleted_on_complete(
    s3_server: S3Server, bucket_view: BucketView
) -> None:
    storage = make_s3_storage(s3_server, bucket_view.bucket, max_upload_bytes=1000)
    upload = await storage.presign_upload(KEY, 1000, "text/plain")
    assert upload.url is not None
    async with httpx.AsyncClient() as http:
        await http.put(upload.url, content=b"x" * 5000, headers=upload.headers)
    with pytest.raises(UploadTooLarge):
        await storage.complete_presigned(KEY, size=1000)
    assert bucket_view.keys() == []
    await storage.close()


async def test_abort_presigned_and_stale_upload_sweep(
    s3_storage: S3Storage, bucket_view: BucketView
) -> None:
    first = await s3_storage.presign_upload(KEY, 3 * PART_SIZE, "video/mp4")
    await s3_storage.abort_presigned(KEY, first.upload_id)
    assert bucket_view.open_uploads() == []
    with pytest.raises(ObjectNotFound):
        await s3_storage.complete_presigned(KEY, size=3 * PART_SIZE, upload_id=first.upload_id)

    await s3_storage.presign_upload(KEY, 3 * PART_SIZE, "video/mp4")
    # moto reports every upload as initiated on 2010-11-10, so only the cutoff side is real here
    assert await s3_storage.abort_stale_uploads(timedelta(days=365 * 100)) == 0
    assert await s3_storage.abort_stale_uploads(timedelta(0)) == 1
    assert bucket_view.open_uploads() == []


async def test_presigned_urls_can_name_a_public_endpoint(s3_server: S3Server) -> None:
    storage = make_s3_storage(s3_server, "unused", presign_endpoint_url="https://files.example.com")
    upload = await storage.presign_upload(KEY, 10, "text/plain")
    assert upload.url is not None
    assert upload.url.startswith("https://files.example.com/")
    await storage.close()


def test_presign_raises_part_size_to_stay_within_10000_parts() -> None:
    assert direct_part_size(60 * 1024**3, PART_SIZE) == 7 * 1024 * 1024
    assert direct_part_size(PART_SIZE * 3, PART_SIZE) == PART_SIZE


def test_build_storage_selects_s3(s3_server: S3Server) -> None:
    settings = Settings(
        storage_backend=StorageBackend.S3,
        s3_endpoint_url=s3_server.endpoint_url,
        s3_bucket="b",
        s3_part_size_bytes=PART_SIZE,
    )
    storage = build_storage(settings)
    assert isinstance(storage, S3Storage)
    assert storage.settings.part_size_bytes == PART_SIZE


def test_s3_settings_are_read_once_from_the_documented_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("S3_BUCKET", "from-env")
    monkeypatch.setenv("S3_PRESIGN_ENDPOINT_URL", "https://files.example.com")
    monkeypatch.setenv("S3_PARTS_IN_FLIGHT", "3")
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "4096")
    settings = S3Settings.from_settings(Settings(_env_file=None))
    assert (settings.bucket, settings.presign_endpoint_url) == (
        "from-env",
        "https://files.example.com",
    )
    assert (settings.parts_in_flight, settings.max_upload_bytes) == (3, 4096)
    with pytest.raises(ValueError, match="part size"):
        S3Storage(replace(settings, part_size_bytes=1024))
