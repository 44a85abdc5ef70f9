"""What several test modules share: a test module imports these, never another test module."""

from __future__ import annotations

from pathlib import Path

import boto3

from course_supporter.config import Settings
from course_supporter.storage.signed_urls import SECRET_FILENAME
from tests.conftest import ApiClient


async def new_course(api: ApiClient, title: str = "C") -> tuple[dict[str, str], str]:
    """A new tenant's prep+check key (as headers) and a course of that tenant."""
    headers = {"X-API-Key": await api.new_key()}
    course = await api.http.post("/api/v1/courses", json={"title": title}, headers=headers)
    assert course.status_code == 201, course.text
    return headers, course.json()["id"]


def stored_keys(settings: Settings) -> list[str]:
    """Every object in the deployment's storage; on S3 no multipart upload may be left open."""
    if settings.storage_backend == "s3":
        s3 = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=settings.s3_secret_access_key,
            region_name="us-east-1",
        )
        listing = s3.list_objects_v2(Bucket=settings.s3_bucket)
        uploads = s3.list_multipart_uploads(Bucket=settings.s3_bucket).get("Uploads", [])
        assert uploads == [], "a multipart upload was left open"
        return [item["Key"] for item in listing.get("Contents", [])]
    root = Path(settings.storage_dir)
    if not root.exists():
        return []
    # The signing secret of direct-upload URLs lives in the directory but is no object.
    return [
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and p != root / SECRET_FILENAME
    ]
