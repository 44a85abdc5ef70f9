"""Hostile multipart uploads: huge part headers and file names, floods of parts, file names
PostgreSQL or UTF-8 cannot hold. Each is a 4xx on SQLite and PostgreSQL, stores nothing, and
a real server stops reading instead of buffering.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.api_server import ApiServer, run_api_server
from tests.conftest import ApiClient
from tests.support import new_course

BOUNDARY = "l1m1tsb0undary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
MIB = 1024 * 1024


def text_part(name: str, value: str) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
    ).encode()


def file_part(filename: bytes, content: bytes = b"# Notes\n", extra_header: bytes = b"") -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="'.encode()
        + filename
        + b'"\r\n'
        + extra_header
        + b"Content-Type: text/markdown\r\n\r\n"
        + content
        + b"\r\n"
    )


def form(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (form(text_part("source_type", "text"), file_part(b"a" * 253 + b".md")), 422, "256 bytes"),
        (form(text_part("source_type", "text"), file_part(b"n\x00tes.md")), 422, "NUL"),
        (form(text_part("source_type", "text"), file_part(b"\xff\xfe.md")), 422, "not UTF-8"),
        (
            form(text_part("source_type", "text"), file_part(b"a.md", b"", b"a" * 64 * 1024)),
            413,
            "longer than 16384 bytes",
        ),
        (
            form(text_part("source_type", "text"), *[text_part("x", "")] * 60_000),
            413,
            "more than 16 parts",
        ),
    ],
    ids=["256-byte-name", "nul-name", "non-utf8-name", "64k-part-header", "60k-parts"],
)
async def test_hostile_forms_are_4xx_and_store_nothing(
    client: ApiClient, body: bytes, status: int, message: str
) -> None:
    headers, course_id = await new_course(client)
    url = f"/api/v1/courses/{course_id}/materials"
    started = time.perf_counter()
    response = await client.http.post(
        url, content=body, headers={**headers, "Content-Type": CONTENT_TYPE}
    )
    elapsed = time.perf_counter() - started
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    text = detail if isinstance(detail, str) else detail[0]["msg"]
    assert message in text, response.text
    assert response.json()["request_id"]
    assert elapsed < 2.0, f"took {elapsed:.2f}s"
    listing = await client.http.get(url, headers=headers)
    assert listing.json()["items"] == []
    assert stored_files(Path(client.settings.storage_dir)) == []


async def test_filename_errors_point_at_the_filename(client: ApiClient) -> None:
    headers, course_id = await new_course(client)
    response = await client.http.post(
        f"/api/v1/courses/{course_id}/materials",
        content=form(text_part("source_type", "text"), file_part(b"x\x00.md")),
        headers={**headers, "Content-Type": CONTENT_TYPE},
    )
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "file", "filename"]
    assert error["type"] == "value_error"


async def test_a_255_byte_unicode_filename_is_kept(client: ApiClient) -> None:
    headers, course_id = await new_course(client)
    name = "\u0444" * 126 + ".md"  # 255 bytes, 129 characters
    response = await client.http.post(
        f"/api/v1/courses/{course_id}/materials",
        content=form(text_part("source_type", "text"), file_part(f"  {name} ".encode())),
        headers={**headers, "Content-Type": CONTENT_TYPE},
    )
    assert response.status_code == 201, response.text
    assert response.json()["filename"] == name


@pytest.mark.parametrize(
    ("filename", "message"),
    [
        ("\u00e9" * 126 + "a.md", "256 bytes"),
        ("   ", "at least 1 character"),
        ("notes\u0007.md", "control characters"),
    ],
    ids=["256-bytes", "blank", "control"],
)
async def test_direct_upload_filenames_follow_the_same_rules(
    client: ApiClient, filename: str, message: str
) -> None:
    headers, course_id = await new_course(client)
    response = await client.http.post(
        f"/api/v1/courses/{course_id}/uploads",
        json={"source_type": "text", "filename": filename, "size_bytes": 10},
        headers=headers,
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "filename"] and message in error["msg"], error


def send_until_answered(server: ApiServer, path: str, key: str, head: bytes, filler: int) -> bytes:
    """POST a body that starts with `head` and claims `filler` more bytes; send them until the
    server answers or closes. Returns the response bytes."""
    port = int(server.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as raw:
        raw.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {key}\r\n"
                f"Content-Type: {CONTENT_TYPE}\r\nContent-Length: {len(head) + filler}\r\n\r\n"
            ).encode()
            + head
        )
        raw.settimeout(0.001)
        chunk = b"a" * MIB
        answer = b""
        for _ in range(filler // MIB):
            try:
                raw.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                break
            try:
                answer += raw.recv(65536)
            except TimeoutError:
                continue
            break
        raw.settimeout(10)
        try:
            while not answer.endswith(b"}"):
                more = raw.recv(65536)
                if not more:
                    break
                answer += more
        except (ConnectionResetError, TimeoutError):
            pass
        return answer


@pytest.mark.slow
def test_a_100mb_filename_is_refused_without_buffering(tmp_path: Path) -> None:
    with run_api_server(tmp_path / "api") as server:
        key = server.new_key()
        course = httpx.post(
            f"{server.base_url}/api/v1/courses", json={"title": "C"}, headers={"X-API-Key": key}
        )
        path = f"/api/v1/courses/{course.json()['id']}/materials"
        process = psutil.Process(server.pid)
        before = process.memory_info().rss
        head = (
            text_part("source_type", "text")
            + f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="'.encode()
        )
        started = time.perf_counter()
        answer = send_until_answered(server, path, key, head, 100 * MIB)
        elapsed = time.perf_counter() - started
        grown = process.memory_info().rss - before
        assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
        assert b"longer than 16384 bytes" in answer
        assert elapsed < 5.0, f"took {elapsed:.1f}s"
        assert grown < 30 * MIB, f"RSS grew by {grown / MIB:.1f} MiB"
        live = httpx.get(f"{server.base_url}/health/live", timeout=2)
        assert live.status_code == 200
        listing = httpx.get(f"{server.base_url}{path}", headers={"X-API-Key": key})
        assert listing.json()["items"] == []
        assert stored_files(tmp_path / "api" / "storage") == []
