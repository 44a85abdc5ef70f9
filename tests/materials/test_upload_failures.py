"""Upload failure paths through the whole stack: nothing stored, no open parts, no row."""

from __future__ import annotations

import socket
import struct
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import boto3
import httpx
import pytest

from tests.api_server import ApiServer, run_api_server
from tests.conftest import make_settings, open_client
from tests.s3_server import S3Server, run_s3_server

MIB = 1024 * 1024
PART_SIZE = 5 * MIB
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
BOUNDARY = "f41lur3b0undary"

pytestmark = pytest.mark.slow


def s3_settings(server: S3Server, bucket: str) -> dict[str, str]:
    return {
        "STORAGE_BACKEND": "s3",
        "S3_ENDPOINT_URL": server.endpoint_url,
        "S3_BUCKET": bucket,
        "S3_ACCESS_KEY_ID": server.access_key_id,
        "S3_SECRET_ACCESS_KEY": server.secret_access_key,
        "S3_PART_SIZE_BYTES": str(PART_SIZE),
    }


def s3_client(server: S3Server) -> object:
    return boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
        region_name=server.region,
    )


def form_prefix(source_type: str, filename: str) -> bytes:
    return (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="source_type"\r\n\r\n'
        f"{source_type}\r\n"
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.05)


@pytest.fixture(params=["local", "s3"])
def api_process(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[ApiServer, Callable[[], list[str]], Callable[[], bool]]]:
    """The API in its own uvicorn process, plus views of what storage holds.

    Yields (server, stored objects, whether an upload is in progress in storage).
    """
    if request.param == "s3":
        s3: S3Server = request.getfixturevalue("s3_server")
        bucket = f"fail-{uuid.uuid4().hex[:8]}"
        client = s3_client(s3)
        with run_api_server(tmp_path / "api", **s3_settings(s3, bucket)) as server:

            def objects() -> list[str]:
                listing = client.list_objects_v2(Bucket=bucket)  # type: ignore[attr-defined]
                return [item["Key"] for item in listing.get("Contents", [])]

            def in_progress() -> bool:
                uploads = client.list_multipart_uploads(Bucket=bucket)  # type: ignore[attr-defined]
                return bool(uploads.get("Uploads"))

            yield server, objects, in_progress
        return
    with run_api_server(tmp_path / "api") as server:
        root = tmp_path / "api" / "storage"

        def files() -> list[str]:
            return [str(p) for p in root.rglob("*") if p.is_file()]

        def temp_files() -> bool:
            return any(root.rglob("*.part"))

        yield server, files, temp_files


def test_client_disconnect_mid_upload_leaves_nothing(
    api_process: tuple[ApiServer, Callable[[], list[str]], Callable[[], bool]],
) -> None:
    server, stored, in_progress = api_process
    headers = {"X-API-Key": server.new_key()}
    course = httpx.post(f"{server.base_url}/api/v1/courses", json={"title": "C"}, headers=headers)
    course_id = course.json()["id"]
    path = f"/api/v1/courses/{course_id}/materials"
    port = int(server.base_url.rsplit(":", 1)[1])

    with socket.create_connection(("127.0.0.1", port)) as raw:
        raw.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"X-API-Key: {headers['X-API-Key']}\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                f"Content-Length: {64 * MIB}\r\n\r\n"
            ).encode()
            + form_prefix("video", "talk.mp4")
            + MP4_HEAD
        )
        chunk = bytes(range(256)) * 4096  # 1 MiB
        for _ in range(12):  # past two S3 parts
            raw.sendall(chunk)
        wait_for(in_progress, "the server is storing the upload")
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    # The socket closed (reset) with 52 MiB unsent.

    wait_for(lambda: not in_progress(), "the aborted upload is cleaned up")
    assert stored() == []
    listing = httpx.get(f"{server.base_url}{path}", headers=headers)
    assert listing.status_code == 200 and listing.json()["items"] == []
    alive = httpx.get(f"{server.base_url}/health", timeout=10)
    assert alive.status_code == 200


async def test_storage_outage_mid_upload_is_503_and_records_nothing(
    sqlite_url: str, tmp_path: Path
) -> None:
    with ExitStack() as moto:
        s3 = moto.enter_context(run_s3_server())
        settings = make_settings(
            sqlite_url,
            tmp_path,
            storage_backend="s3",
            s3_endpoint_url=s3.endpoint_url,
            s3_bucket="outage",
            s3_access_key_id=s3.access_key_id,
            s3_secret_access_key=s3.secret_access_key,
            s3_part_size_bytes=PART_SIZE,
        )
        async with open_client(settings) as api:
            headers = {"X-API-Key": await api.new_key()}
            course = await api.http.post("/api/v1/courses", json={"title": "C"}, headers=headers)
            course_id = course.json()["id"]

            async def body() -> AsyncIterator[bytes]:
                yield form_prefix("video", "talk.mp4") + MP4_HEAD
                for sent in range(16):
                    if sent == 7:  # one part stored, the next one will fail
                        moto.close()
                    yield bytes(MIB)
                yield f"\r\n--{BOUNDARY}--\r\n".encode()

            response = await api.http.post(
                f"/api/v1/courses/{course_id}/materials",
                content=body(),
                headers={
                    **headers,
                    "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                },
                timeout=60,
            )
            assert response.status_code == 503, response.text
            assert response.json()["detail"].startswith("storage is unavailable")
            assert response.json()["request_id"]
            listing = await api.http.get(f"/api/v1/courses/{course_id}/materials", headers=headers)
            assert listing.json()["items"] == []


async def test_wrong_credentials_make_health_503(
    s3_server_with_auth: S3Server,
    sqlite_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = make_settings(
        sqlite_url,
        tmp_path,
        storage_backend="s3",
        s3_endpoint_url=s3_server_with_auth.endpoint_url,
        s3_bucket="locked",
        s3_access_key_id="AKIAWRONGWRONGWRONG",
        s3_secret_access_key="wrong",
    )
    async with open_client(settings) as api:
        response = await api.http.get("/health")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "degraded" and body["checks"]["db"] == "ok"
        # The unauthenticated answer names no bucket or key; the operator's log says why.
        assert body["checks"]["storage"] == "error: unavailable"
        assert "locked" not in response.text
        assert "S3 denied access to bucket 'locked'" in capsys.readouterr().err
