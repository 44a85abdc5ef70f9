"""Storage fixtures: a local directory and a bucket on the session's moto S3 server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from uuid import uuid4

import boto3
import pytest

from course_supporter.config import Settings
from course_supporter.storage import LocalStorage, S3Settings, S3Storage
from tests.s3_server import S3Server, s3_server, s3_server_with_auth

__all__ = ["s3_server", "s3_server_with_auth"]

PART_SIZE = 5 * 1024 * 1024
MAX_BYTES = 32 * 1024 * 1024


def s3_settings(**overrides: Any) -> S3Settings:
    """The S3 backend's settings as `Settings` defaults them, with `overrides` by field name."""
    return replace(S3Settings.from_settings(Settings(_env_file=None)), **overrides)


def make_s3_storage(server: S3Server, bucket: str, **overrides: Any) -> S3Storage:
    """An S3Storage on the test server with small parts and a 32 MiB limit."""
    options: dict[str, Any] = {
        "bucket": bucket,
        "endpoint_url": server.endpoint_url,
        "access_key_id": server.access_key_id,
        "secret_access_key": server.secret_access_key,
        "region": server.region,
        "part_size_bytes": PART_SIZE,
        "max_upload_bytes": MAX_BYTES,
    } | overrides
    return S3Storage(s3_settings(**options))


@pytest.fixture
async def s3_storage(s3_server: S3Server) -> AsyncIterator[S3Storage]:
    storage = make_s3_storage(s3_server, f"test-{uuid4().hex[:12]}")
    await storage.ensure_bucket()
    yield storage
    await storage.close()


@dataclass
class BucketView:
    """Looks at a bucket with plain boto3, independent of the code under test."""

    client: Any
    bucket: str

    def keys(self) -> list[str]:
        response = self.client.list_objects_v2(Bucket=self.bucket)
        return [item["Key"] for item in response.get("Contents", [])]

    def open_uploads(self) -> list[str]:
        response = self.client.list_multipart_uploads(Bucket=self.bucket)
        return [upload["Key"] for upload in response.get("Uploads", [])]

    def read(self, key: str) -> bytes:
        body: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body

    def etag(self, key: str) -> str:
        etag: str = self.client.head_object(Bucket=self.bucket, Key=key)["ETag"]
        return etag


@pytest.fixture
def bucket_view(s3_server: S3Server, s3_storage: S3Storage) -> BucketView:
    client = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        aws_access_key_id=s3_server.access_key_id,
        aws_secret_access_key=s3_server.secret_access_key,
        region_name=s3_server.region,
    )
    return BucketView(client, s3_storage.bucket)


@pytest.fixture
async def local_storage(tmp_path: Path) -> LocalStorage:
    storage = LocalStorage(tmp_path / "storage", max_upload_bytes=MAX_BYTES)
    await storage.ensure_bucket()
    return storage
