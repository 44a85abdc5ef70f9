"""Presigned direct uploads over HTTP: the client PUTs straight to S3 with plain httpx."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from course_supporter.db import utcnow
from course_supporter.jobs.queue import MAINTENANCE_QUEUE
from course_supporter.jobs.worker import JobWorker
from course_supporter.materials.models import Upload
from course_supporter.materials.uploads import discard_expired_uploads
from course_supporter.storage import build_storage
from tests.conftest import ApiClient, make_settings, open_client
from tests.s3_server import S3Server
from tests.support import new_course, stored_keys

PART_SIZE = 5 * 1024 * 1024
MARKDOWN = b"# Loops\n\nA loop repeats a block of statements.\n"
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


@pytest.fixture
async def s3_api(s3_server: S3Server, sqlite_url: str, tmp_path: Path) -> AsyncIterator[ApiClient]:
    settings = make_settings(
        sqlite_url,
        tmp_path,
        max_upload_bytes=12 * 1024 * 1024,
        storage_backend="s3",
        s3_endpoint_url=s3_server.endpoint_url,
        s3_bucket=f"direct-{uuid.uuid4().hex[:8]}",
        s3_access_key_id=s3_server.access_key_id,
        s3_secret_access_key=s3_server.secret_access_key,
        s3_part_size_bytes=PART_SIZE,
    )
    async with open_client(settings) as client:
        yield client


async def prepare(
    api: ApiClient, headers: dict[str, str], course_id: str, **body: object
) -> httpx.Response:
    return await api.http.post(f"/api/v1/courses/{course_id}/uploads", json=body, headers=headers)


async def complete(
    api: ApiClient, headers: dict[str, str], course_id: str, upload_id: str, body: object = None
) -> httpx.Response:
    url = f"/api/v1/courses/{course_id}/uploads/{upload_id}/complete"
    return await api.http.post(url, json=body, headers=headers)


async def test_single_put_end_to_end(s3_api: ApiClient) -> None:
    headers, course_id = await new_course(s3_api)
    prepared = await prepare(
        s3_api,
        headers,
        course_id,
        source_type="text",
        filename="Week 1.md",
        size_bytes=len(MARKDOWN),
    )
    assert prepared.status_code == 201, prepared.text
    upload = prepared.json()
    assert upload["parts"] == [] and upload["url"].startswith("http")
    assert upload["content_type"] == "text/markdown"
    assert upload["complete_url"].endswith(f"/uploads/{upload['upload_id']}/complete")

    not_yet = await complete(s3_api, headers, course_id, upload["upload_id"])
    assert not_yet.status_code == 409
    assert "nothing has been uploaded" in not_yet.json()["detail"]

    put = httpx.put(upload["url"], content=MARKDOWN, headers=upload["headers"])
    assert put.status_code == 200, put.text
    done = await complete(s3_api, headers, course_id, upload["upload_id"])
    assert done.status_code == 201, done.text
    material = done.json()
    assert material["id"] == upload["material_id"]
    assert material["status"] == "pending" and material["size_bytes"] == len(MARKDOWN)
    assert material["content_type"] == "text/markdown" and material["filename"] == "Week 1.md"
    job = await s3_api.http.get(f"/api/v1/jobs/{material['job_id']}", headers=headers)
    assert job.json()["kind"] == "ingest_material"
    [key] = stored_keys(s3_api.settings)
    assert key.startswith("tenants/")
    assert key.endswith(f"/courses/{course_id}/materials/{material['id']}/Week_1.md")

    again = await complete(s3_api, headers, course_id, upload["upload_id"], {})
    assert again.status_code == 409
    assert "already completed" in again.json()["detail"]


async def test_multipart_with_two_parts_end_to_end(s3_api: ApiClient) -> None:
    headers, course_id = await new_course(s3_api)
    data = MP4_HEAD + bytes(range(256)) * (6 * 1024 * 4)
    prepared = await prepare(
        s3_api,
        headers,
        course_id,
        source_type="video",
        filename="lecture.mp4",
        size_bytes=len(data),
        content_type="video/mp4",
    )
    assert prepared.status_code == 201, prepared.text
    upload = prepared.json()
    assert upload["url"] is None and upload["part_size"] == PART_SIZE
    assert [(p["part_number"], p["size_bytes"]) for p in upload["parts"]] == [
        (1, PART_SIZE),
        (2, len(data) - PART_SIZE),
    ]
    etags = []
    async with httpx.AsyncClient() as plain:
        for part in upload["parts"]:
            start = (part["part_number"] - 1) * upload["part_size"]
            put = await plain.put(part["url"], content=data[start : start + part["size_bytes"]])
            assert put.status_code == 200, put.text
            etags.append({"part_number": part["part_number"], "etag": put.headers["ETag"]})

    wrong = [etags[0], {"part_number": 2, "etag": '"0123456789abcdef"'}]
    mismatch = await complete(s3_api, headers, course_id, upload["upload_id"], {"parts": wrong})
    assert mismatch.status_code == 409
    assert "ETags" in mismatch.json()["detail"]

    done = await complete(s3_api, headers, course_id, upload["upload_id"], {"parts": etags})
    assert done.status_code == 201, done.text
    assert done.json()["size_bytes"] == len(data)
    assert done.json()["content_type"] == "video/mp4"
    assert len(stored_keys(s3_api.settings)) == 1  # and no multipart upload left open

    deleted = await s3_api.http.delete(f"/api/v1/courses/{course_id}", headers=headers)
    assert deleted.status_code == 204
    assert stored_keys(s3_api.settings) == []


async def test_content_that_contradicts_the_name_is_422_and_deleted(s3_api: ApiClient) -> None:
    headers, course_id = await new_course(s3_api)
    fake = b"%PDF-1.7 pretending to be markdown\x00\x00"
    upload = (
        await prepare(
            s3_api, headers, course_id, source_type="text", filename="a.md", size_bytes=len(fake)
        )
    ).json()
    httpx.put(upload["url"], content=fake, headers=upload["headers"]).raise_for_status()
    rejected = await complete(s3_api, headers, course_id, upload["upload_id"])
    assert rejected.status_code == 422
    [error] = rejected.json()["detail"]
    assert "binary" in error["msg"] and "deleted" in error["msg"]
    assert stored_keys(s3_api.settings) == []
    gone = await complete(s3_api, headers, course_id, upload["upload_id"])
    assert gone.status_code == 404
    listing = await s3_api.http.get(f"/api/v1/courses/{course_id}/materials", headers=headers)
    assert listing.json()["items"] == []


async def test_an_object_of_another_size_is_discarded(s3_api: ApiClient) -> None:
    headers, course_id = await new_course(s3_api)
    upload = (
        await prepare(s3_api, headers, course_id, source_type="text", filename="a.md", size_bytes=5)
    ).json()
    httpx.put(upload["url"], content=MARKDOWN, headers=upload["headers"]).raise_for_status()
    response = await complete(s3_api, headers, course_id, upload["upload_id"])
    assert response.status_code == 409
    assert "5 were announced" in response.json()["detail"]
    assert stored_keys(s3_api.settings) == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"source_type": "text", "filename": "a.md", "size_bytes": 13 * 1024 * 1024}, 413),
        ({"source_type": "text", "filename": "a.exe", "size_bytes": 10}, 415),
        ({"source_type": "web", "filename": "a.md", "size_bytes": 10}, 422),
        ({"source_type": "text", "filename": "a.md", "size_bytes": 0}, 422),
        (
            {"source_type": "text", "filename": "a.md", "size_bytes": 1, "content_type": "x\r\n"},
            422,
        ),
    ],
)
async def test_prepare_refuses_what_could_never_complete(
    s3_api: ApiClient, body: dict[str, object], status: int
) -> None:
    headers, course_id = await new_course(s3_api)
    response = await prepare(s3_api, headers, course_id, **body)
    assert response.status_code == status, response.text
    assert response.json()["detail"]
    assert stored_keys(s3_api.settings) == []


async def prepare_multipart(api: ApiClient, headers: dict[str, str], course_id: str) -> Any:
    """A two-part direct upload of a video, prepared and never started."""
    prepared = await prepare(
        api, headers, course_id, source_type="video", filename="long.mp4", size_bytes=2 * PART_SIZE
    )
    return prepared.json()


async def expire(api: ApiClient, upload_id: str) -> None:
    """Move an upload's deadline (URL expiry + grace) into the past."""
    async with api.db.sessions() as session:
        await session.execute(
            update(Upload)
            .where(Upload.id == uuid.UUID(upload_id))
            .values(expires_at=utcnow() - timedelta(hours=2))
        )
        await session.commit()


async def test_expired_upload_is_410_and_swept(s3_api: ApiClient) -> None:
    headers, course_id = await new_course(s3_api)
    upload = await prepare_multipart(s3_api, headers, course_id)
    await expire(s3_api, upload["upload_id"])
    expired = await complete(s3_api, headers, course_id, upload["upload_id"])
    assert expired.status_code == 410
    assert "expired" in expired.json()["detail"]
    assert stored_keys(s3_api.settings) == []  # the open multipart upload was aborted

    storage = build_storage(s3_api.settings)
    async with s3_api.db.transaction() as session:
        assert await discard_expired_uploads(session, storage) >= 1
    await storage.close()
    assert (await complete(s3_api, headers, course_id, upload["upload_id"])).status_code == 404


async def test_the_worker_sweeps_abandoned_uploads_by_itself(s3_api: ApiClient) -> None:
    """The sweep is a periodic task of the embedded worker (in-memory queue), due every
    UPLOAD_SWEEP_INTERVAL_SECONDS."""
    headers, course_id = await new_course(s3_api)
    upload = await prepare_multipart(s3_api, headers, course_id)
    await expire(s3_api, upload["upload_id"])
    interval = 2.0
    settings = s3_api.settings.model_copy(update={"upload_sweep_interval_seconds": interval})
    storage = build_storage(settings)
    worker_ = JobWorker(settings, s3_api.db, storage)
    assert (MAINTENANCE_QUEUE, "* * * * * */2") in [
        (p.task.queue, p.cron) for p in worker_.queue.periodic_registry.periodic_tasks.values()
    ]
    started = time.monotonic()
    worker = worker_.start()
    try:
        while time.monotonic() - started < 10 * interval:
            async with s3_api.db.sessions() as session:
                if await session.get(Upload, uuid.UUID(upload["upload_id"])) is None:
                    break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the expired upload was never swept")
        swept_after = time.monotonic() - started
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
        await storage.close()
    # One tick of the schedule, plus the deferrer's margin and one poll of the maintenance queue.
    assert swept_after < interval + 0.5 + settings.job_poll_interval_seconds + 0.5, swept_after
    assert stored_keys(s3_api.settings) == []  # and no multipart upload left open


async def test_another_tenants_upload_is_404(s3_api: ApiClient) -> None:
    headers, course_id = await new_course(s3_api)
    upload = (
        await prepare(s3_api, headers, course_id, source_type="text", filename="a.md", size_bytes=3)
    ).json()
    intruder, intruder_course = await new_course(s3_api)
    assert (
        await complete(s3_api, intruder, intruder_course, upload["upload_id"])
    ).status_code == 404
    assert (await complete(s3_api, intruder, course_id, upload["upload_id"])).status_code == 404


async def test_a_completion_with_as_many_parts_as_the_schema_allows_is_not_too_large(
    client: ApiClient,
) -> None:
    """10,000 parts (S3's limit) is ~0.7 MB of JSON: past the 64 KiB cap of other bodies."""
    headers = {"X-API-Key": await client.new_key()}
    course = await client.http.post("/api/v1/courses", json={"title": "Parts"}, headers=headers)
    url = f"/api/v1/courses/{course.json()['id']}/uploads/{uuid.uuid4()}/complete"
    etag = '"' + "0" * 32 + '-1"'
    parts = [{"part_number": n, "etag": etag} for n in range(1, 10_001)]
    most = await client.http.post(url, json={"parts": parts}, headers=headers)
    assert most.status_code == 404, most.text  # read to the end, then: no such upload
    too_many = await client.http.post(
        url, json={"parts": [*parts, {"part_number": 1, "etag": etag}]}, headers=headers
    )
    assert too_many.status_code == 422
