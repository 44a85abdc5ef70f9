"""One direct-upload contract on both storage backends, through a real HTTP server.

The same client code (plain httpx, absolute URLs from the prepare answer) runs against the
API on local storage, where the API signs and serves the upload URLs itself, and against
the API on S3 (moto), where the URLs go to the S3 server.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import uvicorn
from sqlalchemy import update

from course_supporter.app import create_app
from course_supporter.config import Settings
from course_supporter.db import Database, utcnow
from course_supporter.materials.models import Upload
from course_supporter.materials.uploads import sweep_uploads
from course_supporter.tenancy import service
from tests.conftest import make_settings
from tests.materials.test_materials_api import stored_keys
from tests.s3_server import S3Server, free_port

PART_SIZE = 5 * 1024 * 1024
MARKDOWN = b"# Loops\n\nA loop repeats a block of statements.\n"
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


@dataclass
class Deployment:
    """The API serving on loopback, one httpx client for it and for whatever URLs it hands out."""

    backend: str
    http: httpx.AsyncClient
    settings: Settings
    db: Database
    app: Any

    async def new_course(self) -> tuple[dict[str, str], str]:
        tenant = f"tenant-{uuid.uuid4().hex[:10]}"
        async with self.db.transaction() as session:
            await service.create_tenant(session, tenant)
            issued = await service.issue_key(
                session, tenant, scopes="prep,check", rate_prep=1000, rate_check=1000
            )
        headers = {"X-API-Key": issued.raw_key}
        course = await self.http.post("/api/v1/courses", json={"title": "C"}, headers=headers)
        assert course.status_code == 201, course.text
        return headers, course.json()["id"]


@contextlib.asynccontextmanager
async def serve(settings: Settings, backend: str) -> AsyncIterator[Deployment]:
    """Run the app in uvicorn on a free loopback port for the length of the block."""
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("uvicorn did not start")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            yield Deployment(backend, http, settings, app.state.db, app)
    finally:
        server.should_exit = True
        await task


@pytest.fixture(params=["local", "s3"])
async def deployment(
    request: pytest.FixtureRequest, sqlite_url: str, tmp_path: Path
) -> AsyncIterator[Deployment]:
    options: dict[str, object] = {
        "max_upload_bytes": 12 * 1024 * 1024,
        "s3_part_size_bytes": PART_SIZE,
        "embedded_worker": True,
        "job_poll_interval_seconds": 0.1,
    }
    if request.param == "s3":
        s3: S3Server = request.getfixturevalue("s3_server")
        options |= {
            "storage_backend": "s3",
            "s3_endpoint_url": s3.endpoint_url,
            "s3_bucket": f"direct-{uuid.uuid4().hex[:8]}",
            "s3_access_key_id": s3.access_key_id,
            "s3_secret_access_key": s3.secret_access_key,
        }
    async with serve(make_settings(sqlite_url, tmp_path, **options), request.param) as running:
        yield running


async def prepare(api: Deployment, headers: dict[str, str], course_id: str, **body: Any) -> Any:
    response = await api.http.post(
        f"/api/v1/courses/{course_id}/uploads", json=body, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def complete(
    api: Deployment, headers: dict[str, str], upload: Any, body: object = None
) -> httpx.Response:
    return await api.http.post(upload["complete_url"], json=body, headers=headers)


async def wait_until_done(api: Deployment, headers: dict[str, str], material: Any) -> Any:
    url = f"/api/v1/courses/{material['course_id']}/materials/{material['id']}"
    for _ in range(300):
        current = (await api.http.get(url, headers=headers)).json()
        if current["status"] in {"done", "error"}:
            return current
        await asyncio.sleep(0.1)
    pytest.fail(f"material {material['id']} never finished ingesting")


def objects(api: Deployment) -> list[str]:
    """Stored objects and, on local storage, parts and temp files (S3: open uploads fail it)."""
    return stored_keys(api.settings)


async def test_single_put_then_complete_makes_a_done_material(deployment: Deployment) -> None:
    headers, course_id = await deployment.new_course()
    upload = await prepare(
        deployment,
        headers,
        course_id,
        source_type="text",
        filename="Week 1.md",
        size_bytes=len(MARKDOWN),
    )
    assert upload["url"].startswith("http://") and upload["parts"] == []

    put = await deployment.http.put(upload["url"], content=MARKDOWN, headers=upload["headers"])
    assert put.status_code == 200, put.text
    assert put.headers["ETag"].strip('"')

    done = await complete(deployment, headers, upload)
    assert done.status_code == 201, done.text
    material = done.json()
    assert material["id"] == upload["material_id"] and material["size_bytes"] == len(MARKDOWN)
    finished = await wait_until_done(deployment, headers, material)
    assert finished["status"] == "done", finished["error_message"]
    [key] = objects(deployment)
    assert key.endswith(f"/courses/{course_id}/materials/{material['id']}/Week_1.md")


async def test_multipart_upload_with_etags(deployment: Deployment) -> None:
    headers, course_id = await deployment.new_course()
    data = MP4_HEAD + bytes(range(256)) * (6 * 1024 * 4)
    upload = await prepare(
        deployment,
        headers,
        course_id,
        source_type="video",
        filename="lecture.mp4",
        size_bytes=len(data),
        content_type="video/mp4",
    )
    assert upload["url"] is None and upload["part_size"] == PART_SIZE
    assert [p["size_bytes"] for p in upload["parts"]] == [PART_SIZE, len(data) - PART_SIZE]

    first, second = upload["parts"]
    put = await deployment.http.put(first["url"], content=data[:PART_SIZE])
    assert put.status_code == 200, put.text
    etags = [{"part_number": 1, "etag": put.headers["ETag"]}]
    early = await complete(deployment, headers, upload, {"parts": etags})
    assert early.status_code == 409
    assert "upload the missing parts" in early.json()["detail"]

    put = await deployment.http.put(second["url"], content=data[PART_SIZE:])
    assert put.status_code == 200, put.text
    etags.append({"part_number": 2, "etag": put.headers["ETag"]})
    wrong = [etags[0], {"part_number": 2, "etag": '"0123456789abcdef"'}]
    mismatch = await complete(deployment, headers, upload, {"parts": wrong})
    assert mismatch.status_code == 409 and "ETags" in mismatch.json()["detail"]

    done = await complete(deployment, headers, upload, {"parts": etags})
    assert done.status_code == 201, done.text
    assert done.json()["size_bytes"] == len(data)
    assert len(objects(deployment)) == 1  # no parts left behind

    deleted = await deployment.http.delete(f"/api/v1/courses/{course_id}", headers=headers)
    assert deleted.status_code == 204
    assert objects(deployment) == []


@pytest.mark.parametrize("sent", [len(MARKDOWN) + 100, len(MARKDOWN) - 5])
async def test_a_body_of_another_length_leaves_nothing(deployment: Deployment, sent: int) -> None:
    headers, course_id = await deployment.new_course()
    size = len(MARKDOWN)
    upload = await prepare(
        deployment, headers, course_id, source_type="text", filename="a.md", size_bytes=size
    )
    body = (MARKDOWN * 3)[:sent]
    put = await deployment.http.put(upload["url"], content=body, headers=upload["headers"])
    if deployment.backend == "local":
        assert put.status_code == (413 if sent > len(MARKDOWN) else 400), put.text
        assert f"exactly {len(MARKDOWN)} bytes" in put.json()["detail"]
    # moto does not check presigned signatures (real S3 answers 403: the URL signs
    # Content-Length, see tests/storage/test_s3.py); the complete call is the backstop.
    refused = await complete(deployment, headers, upload)
    assert refused.status_code == 409
    assert objects(deployment) == []
    listing = await deployment.http.get(f"/api/v1/courses/{course_id}/materials", headers=headers)
    assert listing.json()["items"] == []


async def test_an_upload_never_completed_is_swept(deployment: Deployment) -> None:
    headers, course_id = await deployment.new_course()
    size = 2 * PART_SIZE
    upload = await prepare(
        deployment, headers, course_id, source_type="video", filename="long.mp4", size_bytes=size
    )
    first = upload["parts"][0]
    put = await deployment.http.put(first["url"], content=MP4_HEAD.ljust(PART_SIZE, b"\0"))
    assert put.status_code == 200, put.text
    async with deployment.db.sessions() as session:
        await session.execute(
            update(Upload)
            .where(Upload.id == uuid.UUID(upload["upload_id"]))
            .values(expires_at=utcnow() - timedelta(hours=2))
        )
        await session.commit()

    await sweep_uploads(deployment.db, deployment.app.state.storage, deployment.settings)
    async with deployment.db.sessions() as session:
        assert await session.get(Upload, uuid.UUID(upload["upload_id"])) is None
    assert objects(deployment) == []  # parts gone, no multipart upload left open
    late = await deployment.http.put(upload["parts"][1]["url"], content=b"\0" * PART_SIZE)
    if deployment.backend == "local":
        assert late.status_code == 404  # a swept upload takes no more parts


@pytest.fixture
async def local_api(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Deployment]:
    async with serve(make_settings(sqlite_url, tmp_path), "local") as running:
        yield running


async def small_upload(api: Deployment) -> tuple[dict[str, str], Any]:
    headers, course_id = await api.new_course()
    upload = await prepare(
        api, headers, course_id, source_type="text", filename="a.md", size_bytes=len(MARKDOWN)
    )
    return headers, upload


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()} | changes
    return parts._replace(query=urlencode(query)).geturl()


@pytest.mark.parametrize(
    "change",
    [
        {"length": str(len(MARKDOWN) + 1)},
        {"expires": "99999999999"},
        {"signature": "0" * 64},
        {"upload_id": "abc", "part_number": "1"},
    ],
)
async def test_a_tampered_url_is_403(local_api: Deployment, change: dict[str, str]) -> None:
    _, upload = await small_upload(local_api)
    body = MARKDOWN + b"!" if "length" in change else MARKDOWN
    put = await local_api.http.put(with_query(upload["url"], **change), content=body)
    assert put.status_code == 403, put.text
    assert "signature does not match" in put.json()["detail"]
    assert objects(local_api) == []


async def test_another_key_in_the_path_is_403(local_api: Deployment) -> None:
    _, upload = await small_upload(local_api)
    url = upload["url"].replace("/a.md?", "/b.md?")
    put = await local_api.http.put(url, content=MARKDOWN)
    assert put.status_code == 403
    assert objects(local_api) == []


async def test_an_expired_url_is_403(sqlite_url: str, tmp_path: Path) -> None:
    settings = make_settings(sqlite_url, tmp_path, presigned_url_ttl_seconds=0)
    async with serve(settings, "local") as api:
        _, upload = await small_upload(api)
        await asyncio.sleep(1.1)
        put = await api.http.put(upload["url"], content=MARKDOWN)
        assert put.status_code == 403
        assert "expired" in put.json()["detail"]
        assert objects(api) == []


async def test_a_put_without_content_length_is_411(local_api: Deployment) -> None:
    _, upload = await small_upload(local_api)

    async def chunked() -> AsyncIterator[bytes]:
        yield MARKDOWN

    put = await local_api.http.put(upload["url"], content=chunked())
    assert put.status_code == 411
    assert objects(local_api) == []


async def test_urls_name_the_public_base_url_when_set(sqlite_url: str, tmp_path: Path) -> None:
    settings = make_settings(sqlite_url, tmp_path, public_base_url="https://api.example.com/cs")
    async with serve(settings, "local") as api:
        _, upload = await small_upload(api)
        assert upload["url"].startswith("https://api.example.com/cs/storage/uploads/tenants/")


async def test_the_put_route_is_404_on_s3(
    s3_server: S3Server, sqlite_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        sqlite_url,
        tmp_path,
        storage_backend="s3",
        s3_endpoint_url=s3_server.endpoint_url,
        s3_bucket=f"direct-{uuid.uuid4().hex[:8]}",
    )
    async with serve(settings, "s3") as api:
        query = urlencode({"expires": 9999999999, "length": 3, "signature": "0" * 64})
        put = await api.http.put(f"/storage/uploads/tenants/t/a.md?{query}", content=b"abc")
        assert put.status_code == 404
