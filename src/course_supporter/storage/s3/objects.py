"""`S3Storage`: object operations on one bucket; direct uploads are `S3DirectUploads`'."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog
from botocore.exceptions import BotoCoreError, ClientError

from course_supporter.storage.backend import (
    ObjectWriter,
    PresignedUpload,
    StoredObject,
    UploadedPart,
)
from course_supporter.storage.errors import ObjectNotFound, StorageUnavailable
from course_supporter.storage.keys import validate_key, validate_prefix
from course_supporter.storage.s3.connection import MISSING_CODES, S3Connection, error_code
from course_supporter.storage.s3.direct import S3DirectUploads
from course_supporter.storage.s3.settings import S3Settings
from course_supporter.storage.s3.writer import S3Writer

DOWNLOAD_CHUNK_BYTES = 1024 * 1024
DELETE_BATCH = 1000

log = structlog.get_logger(__name__)


class S3Storage:
    """Uses aiobotocore: async, streams multipart uploads, same botocore signs presigned URLs."""

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self.max_upload_bytes = settings.max_upload_bytes
        self._connection = S3Connection(settings)
        self._direct = S3DirectUploads(self._connection, self)

    @property
    def bucket(self) -> str:
        return self.settings.bucket

    @property
    def sends_checksums(self) -> bool:
        return self._connection.sends_checksums

    async def open_writer(
        self, key: str, content_type: str, *, max_bytes: int | None = None
    ) -> ObjectWriter:
        """Start an upload: one PUT if it fits in a part, a multipart upload otherwise."""
        limit = self.max_upload_bytes if max_bytes is None else max_bytes
        connection = self._connection
        client = await connection.client()
        return S3Writer(
            validate_key(key),
            limit,
            client=client,
            data_client=await connection.client("upload") if self.sends_checksums else client,
            bucket=self.bucket,
            content_type=content_type,
            part_size=self.settings.part_size_bytes,
            parts_in_flight=self.settings.parts_in_flight,
            checksums=self.sends_checksums,
        )

    async def delete(self, key: str) -> None:
        """Delete one object; S3 treats a missing key as success."""
        client = await self._connection.client()
        async with self._connection.translated(f"delete {key!r}"):
            await client.delete_object(Bucket=self.bucket, Key=validate_key(key))

    async def delete_prefix(self, prefix: str) -> int:
        """Delete all objects under `prefix` and abort its open multipart uploads."""
        client = await self._connection.client()
        validate_prefix(prefix)
        deleted = 0
        async with self._connection.translated(f"delete prefix {prefix!r}"):
            async for batch in self._keys_under(prefix):
                response = await client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
                )
                if errors := response.get("Errors"):
                    first = errors[0]
                    raise StorageUnavailable(
                        f"could not delete {len(errors)} objects under {prefix!r}, first "
                        f"{first.get('Key')!r}: {first.get('Code')} {first.get('Message')}"
                    )
                deleted += len(batch)
            async for key, upload_id, _ in self._connection.open_uploads(prefix):
                await self._connection.abort_upload(key, upload_id)
        return deleted

    async def download_to(self, key: str, path: Path) -> StoredObject:
        """Stream the object into `path` 1 MiB at a time, hashing it; no partial file on failure."""
        client = await self._connection.client()
        sha256 = hashlib.sha256()
        size = 0
        async with self._connection.translated(f"download {key!r}"):
            try:
                response = await client.get_object(Bucket=self.bucket, Key=validate_key(key))
            except ClientError as error:
                if error_code(error) in MISSING_CODES:
                    raise ObjectNotFound(f"no stored object {key!r}") from error
                raise
            file = await asyncio.to_thread(path.open, "wb")
            try:
                async with response["Body"] as body:
                    while chunk := await body.read(DOWNLOAD_CHUNK_BYTES):
                        sha256.update(chunk)
                        size += len(chunk)
                        await asyncio.to_thread(file.write, chunk)
            except BaseException:
                await asyncio.to_thread(file.close)
                await asyncio.to_thread(path.unlink, missing_ok=True)
                raise
            await asyncio.to_thread(file.close)
        return StoredObject(key, size, sha256.hexdigest())

    async def head(self, key: str) -> int | None:
        """Object size from HEAD, or None when it does not exist."""
        client = await self._connection.client()
        async with self._connection.translated(f"head {key!r}"):
            try:
                response = await client.head_object(Bucket=self.bucket, Key=validate_key(key))
            except ClientError as error:
                if error_code(error) in MISSING_CODES:
                    return None
                raise
        return response["ContentLength"]

    async def read_head(self, key: str, size: int) -> bytes:
        """A ranged GET of the first `size` bytes."""
        client = await self._connection.client()
        async with self._connection.translated(f"read {key!r}"):
            try:
                response = await client.get_object(
                    Bucket=self.bucket, Key=validate_key(key), Range=f"bytes=0-{size - 1}"
                )
            except ClientError as error:
                if error_code(error) in MISSING_CODES:
                    raise ObjectNotFound(f"no stored object {key!r}") from error
                raise
            async with response["Body"] as body:
                head: bytes = await body.read()
        # A server that ignores Range sends everything; it is read once and cut here.
        return head[:size]

    async def check(self) -> None:
        """HEAD the bucket with a no-retry client, within the health-check timeout."""
        client = await self._connection.client("health")
        timeout = self.settings.health_check_timeout_seconds
        try:
            async with asyncio.timeout(timeout):
                await client.head_bucket(Bucket=self.bucket)
        except TimeoutError as error:
            raise StorageUnavailable(
                f"S3 endpoint {self._connection.endpoint_name} did not answer within {timeout:g}s"
            ) from error
        except (BotoCoreError, ClientError) as error:
            raise StorageUnavailable(self._connection.describe(error)) from error

    async def ensure_bucket(self) -> None:
        """Create the bucket when it is missing and `S3_CREATE_BUCKET` allows it."""
        client = await self._connection.client()
        try:
            await client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as error:
            if error_code(error) not in MISSING_CODES:
                raise StorageUnavailable(self._connection.describe(error)) from error
        except BotoCoreError as error:
            raise StorageUnavailable(self._connection.describe(error)) from error
        if not self.settings.create_bucket:
            raise StorageUnavailable(
                f"S3 bucket {self.bucket!r} does not exist and S3_CREATE_BUCKET is false"
            )
        region = self.settings.region
        async with self._connection.translated(f"create bucket {self.bucket!r}"):
            try:
                if region == "us-east-1":
                    await client.create_bucket(Bucket=self.bucket)
                else:
                    await client.create_bucket(
                        Bucket=self.bucket,
                        CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
                    )
            except ClientError as error:
                if error_code(error) != "BucketAlreadyOwnedByYou":
                    raise
        log.info("storage.bucket_created", bucket=self.bucket)

    async def presign_upload(self, key: str, size: int, content_type: str) -> PresignedUpload:
        """Presign one PUT for up to one part, else a multipart upload with a URL per part."""
        return await self._direct.presign(key, size, content_type)

    async def complete_presigned(
        self,
        key: str,
        *,
        size: int,
        upload_id: str | None = None,
        parts: Sequence[UploadedPart] = (),
    ) -> StoredObject:
        """Finish a direct upload; a wrong or oversized result is deleted and reported."""
        return await self._direct.complete(key, size=size, upload_id=upload_id, parts=parts)

    async def abort_presigned(self, key: str, upload_id: str | None = None) -> None:
        """Abort the multipart upload (if any) and delete whatever object landed under `key`."""
        await self._direct.abort(key, upload_id)

    async def abort_stale_uploads(self, older_than: timedelta) -> int:
        """Abort multipart uploads (abandoned direct uploads, crashed writers) older than given."""
        cutoff = datetime.now(UTC) - older_than
        aborted = 0
        async with self._connection.translated("abort stale uploads"):
            async for key, upload_id, initiated in self._connection.open_uploads(""):
                if initiated < cutoff:
                    await self._connection.abort_upload(key, upload_id)
                    aborted += 1
        return aborted

    async def close(self) -> None:
        """Close the HTTP connection pools."""
        await self._connection.close()

    async def _keys_under(self, prefix: str) -> AsyncIterator[list[str]]:
        client = await self._connection.client()
        paginator = client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(
            Bucket=self.bucket, Prefix=prefix, PaginationConfig={"PageSize": DELETE_BATCH}
        ):
            keys = [item["Key"] for item in page.get("Contents", [])]
            if keys:
                yield keys
