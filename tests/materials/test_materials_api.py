"""Materials over HTTP: streaming uploads to local and S3 storage, URLs, limits, bad input."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import ApiClient, make_settings, open_client
from tests.s3_server import S3Server
from tests.support import new_course, stored_keys

MARKDOWN = b"# Variables\n\nA variable is a name bound to a value.\n"


@pytest.fixture(params=["local", "s3"])
async def api(
    request: pytest.FixtureRequest, sqlite_url: str, tmp_path: Path
) -> AsyncIterator[ApiClient]:
    overrides: dict[str, object] = {"max_upload_bytes": 12 * 1024 * 1024}
    if request.param == "s3":
        server: S3Server = request.getfixturevalue("s3_server")
        overrides.update(
            storage_backend="s3",
            s3_endpoint_url=server.endpoint_url,
            s3_bucket=f"materials-{uuid.uuid4().hex[:8]}",
            s3_access_key_id=server.access_key_id,
            s3_secret_access_key=server.secret_access_key,
            s3_part_size_bytes=5 * 1024 * 1024,
        )
    async with open_client(make_settings(sqlite_url, tmp_path, **overrides)) as client:
        yield client


async def test_upload_streams_to_storage_and_records_the_material(api: ApiClient) -> None:
    headers, course_id = await new_course(api)
    response = await api.http.post(
        f"/api/v1/courses/{course_id}/materials",
        data={"source_type": "text"},
        files={"file": ("../../etc/Lecture 1.md", MARKDOWN, "text/markdown")},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    material = response.json()
    assert material["status"] == "pending"
    assert material["size_bytes"] == len(MARKDOWN)
    assert material["sha256"] == hashlib.sha256(MARKDOWN).hexdigest()
    assert uuid.UUID(material["job_id"])
    keys = stored_keys(api.settings)
    assert len(keys) == 1
    assert keys[0].startswith("tenants/") and "/materials/" + material["id"] + "/" in keys[0]
    assert ".." not in keys[0] and "etc/" not in keys[0]

    job = await api.http.get(f"/api/v1/jobs/{material['job_id']}", headers=headers)
    assert job.json()["kind"] == "ingest_material"
    detail = (await api.http.get(f"/api/v1/courses/{course_id}", headers=headers)).json()
    assert [m["id"] for m in detail["materials"]] == [material["id"]]

    url = f"/api/v1/courses/{course_id}/materials/{material['id']}"
    assert (await api.http.delete(url, headers=headers)).status_code == 204
    assert stored_keys(api.settings) == []


async def test_multipart_upload_of_several_parts(api: ApiClient) -> None:
    headers, course_id = await new_course(api)
    payload = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * (11 * 1024 * 4)
    response = await api.http.post(
        f"/api/v1/courses/{course_id}/materials",
        data={"source_type": "video"},
        files={"file": ("talk.mp4", payload, "video/mp4")},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["size_bytes"] == len(payload)
    assert response.json()["sha256"] == hashlib.sha256(payload).hexdigest()
    # Deleting the course removes its files too.
    assert (
        await api.http.delete(f"/api/v1/courses/{course_id}", headers=headers)
    ).status_code == 204
    assert stored_keys(api.settings) == []


async def test_a_streaming_upload_holds_no_database_connection(api: ApiClient) -> None:
    headers, course_id = await new_course(api)
    checked_out_mid_stream = []

    async def body() -> AsyncIterator[bytes]:
        boundary = b"--b0undary"
        yield boundary + b'\r\nContent-Disposition: form-data; name="source_type"\r\n\r\nvideo\r\n'
        yield boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n'
        yield b"Content-Type: video/mp4\r\n\r\n" + b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 4096
        # The course was checked before the body was read; the upload is now streaming.
        checked_out_mid_stream.append(api.db.engine.pool.checkedout())  # type: ignore[attr-defined]
        yield b"\x01" * 4096 + b"\r\n" + boundary + b"--\r\n"

    response = await api.http.post(
        f"/api/v1/courses/{course_id}/materials",
        content=body(),
        headers={**headers, "Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    assert response.status_code == 201, response.text
    assert checked_out_mid_stream == [0]


async def test_too_large_upload_is_413_and_leaves_nothing(api: ApiClient) -> None:
    headers, course_id = await new_course(api)
    too_big = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * (13 * 1024 * 1024)

    async def body() -> AsyncIterator[bytes]:
        boundary = b"--b0undary"
        yield boundary + b'\r\nContent-Disposition: form-data; name="source_type"\r\n\r\nvideo\r\n'
        yield boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n'
        yield b"Content-Type: video/mp4\r\n\r\n"
        for start in range(0, len(too_big), 1024 * 1024):
            yield too_big[start : start + 1024 * 1024]
        yield b"\r\n" + boundary + b"--\r\n"

    response = await api.http.post(
        f"/api/v1/courses/{course_id}/materials",
        content=body(),
        headers={**headers, "Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    assert response.status_code == 413
    assert stored_keys(api.settings) == []
    declared = await api.http.post(
        f"/api/v1/courses/{course_id}/materials",
        content=b"x",
        headers={
            **headers,
            "Content-Type": "multipart/form-data; boundary=b0undary",
            "Content-Length": str(10**12),
        },
    )
    assert declared.status_code == 413
    listing = await api.http.get(f"/api/v1/courses/{course_id}/materials", headers=headers)
    assert listing.json()["items"] == []


@pytest.mark.parametrize(
    ("source_type", "filename", "content", "status"),
    [
        ("text", "notes.exe", b"MZ\x90\x00", 415),
        ("text", "notes.md", b"\x89PNG\r\n\x1a\n\x00\x00binary", 422),
        ("presentation", "slides.pdf", b"not a pdf at all", 422),
        ("presentation", "notes.md", MARKDOWN, 415),
        ("bogus", "notes.md", MARKDOWN, 422),
        ("text", "empty.md", b"", 422),
    ],
)
async def test_wrong_or_mismatched_files_are_rejected(
    api: ApiClient, source_type: str, filename: str, content: bytes, status: int
) -> None:
    headers, course_id = await new_course(api)
    response = await api.http.post(
        f"/api/v1/courses/{course_id}/materials",
        data={"source_type": source_type},
        files={"file": (filename, content, "application/octet-stream")},
        headers=headers,
    )
    assert response.status_code == status, response.text
    assert response.json()["detail"]
    assert stored_keys(api.settings) == []


@pytest.mark.parametrize(
    ("filename", "content", "detected"),
    [
        ("notes.md", MARKDOWN, "text"),
        ("manual.pdf", b"%PDF-1.4\n", "text"),
        ("talk.vtt", b"WEBVTT\n\n", "video"),
    ],
)
async def test_source_type_left_out_is_detected_from_the_file(
    api: ApiClient, filename: str, content: bytes, detected: str
) -> None:
    headers, course_id = await new_course(api)
    response = await api.http.post(
        f"/api/v1/courses/{course_id}/materials",
        files={"file": (filename, content, "application/octet-stream")},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["source_type"] == detected


async def test_undetectable_file_without_source_type_is_415_naming_the_types(
    api: ApiClient,
) -> None:
    headers, course_id = await new_course(api)
    response = await api.http.post(
        f"/api/v1/courses/{course_id}/materials",
        files={"file": ("tool.exe", b"MZ\x90\x00", "application/octet-stream")},
        headers=headers,
    )
    assert response.status_code == 415
    assert "presentation: .pdf, .pptx" in response.json()["detail"]
    assert stored_keys(api.settings) == []


async def test_malformed_requests_are_4xx(api: ApiClient) -> None:
    headers, course_id = await new_course(api)
    url = f"/api/v1/courses/{course_id}/materials"
    no_file = await api.http.post(url, data={"source_type": "text"}, files={}, headers=headers)
    assert no_file.status_code in {415, 422}
    broken = await api.http.post(
        url,
        content=b"garbage",
        headers={**headers, "Content-Type": "multipart/form-data; boundary=zz"},
    )
    assert broken.status_code == 422
    plain = await api.http.post(
        url, content=b"hi", headers={**headers, "Content-Type": "text/plain"}
    )
    assert plain.status_code == 415


async def test_url_materials(api: ApiClient) -> None:
    headers, course_id = await new_course(api)
    url = f"/api/v1/courses/{course_id}/materials"
    created = await api.http.post(
        url, json={"source_type": "web", "source_url": "https://example.com/a"}, headers=headers
    )
    assert created.status_code == 201
    assert created.json()["source_url"] == "https://example.com/a"
    for body in (
        {"source_type": "web", "source_url": "ftp://example.com/a"},
        {"source_type": "web"},
        {"source_type": "text", "source_url": "https://example.com/a"},
        {"source_type": "web", "source_url": "https://example.com/a", "extra": 1},
        {"source_type": "video", "source_url": f"https://{'a' * 300}.example/lecture"},
    ):
        response = await api.http.post(url, json=body, headers=headers)
        assert response.status_code == 422, body
    assert "host name is not valid" in str(response.json())
    document = await api.http.get(f"{url}/{created.json()['id']}/document", headers=headers)
    assert document.status_code == 409


async def test_slide_mapping_validation(api: ApiClient) -> None:
    headers, course_id = await new_course(api)
    url = f"/api/v1/courses/{course_id}/slide-mapping"
    ok = await api.http.post(
        url, json={"mappings": [{"slide_number": 1, "video_timecode": "00:01:05"}]}, headers=headers
    )
    assert ok.status_code == 201
    assert ok.json()["created"] == 1
    for mappings in (
        [{"slide_number": 0, "video_timecode": "00:00:01"}],
        [{"slide_number": 2, "video_timecode": "1:5"}],
        [{"slide_number": 2, "video_timecode": "00:61:00"}],
        [{"slide_number": 3, "video_timecode": "00:00:01"}] * 2,
        [{"slide_number": 1, "video_timecode": "00:00:09"}],
    ):
        response = await api.http.post(url, json={"mappings": mappings}, headers=headers)
        assert response.status_code == 422, mappings
