"""Direct uploads to S3: presigned PUTs (one, or one per part) and their completion."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:  # typing stubs, a dev-only dependency
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef

from course_supporter.storage.backend import (
    ObjectStorage,
    PresignedPart,
    PresignedUpload,
    StoredObject,
    UploadedPart,
    check_received_parts,
    check_stored_size,
    direct_part_size,
)
from course_supporter.storage.errors import ObjectNotFound, UploadIncomplete, UploadTooLarge
from course_supporter.storage.keys import validate_key
from course_supporter.storage.s3.connection import MISSING_CODES, S3Connection, error_code


class S3DirectUploads:
    """Clients PUT their file to storage themselves; `objects` answers HEAD and DELETE."""

    def __init__(self, connection: S3Connection, objects: ObjectStorage) -> None:
        self._connection = connection
        self._objects = objects
        self._settings = connection.settings

    async def presign(self, key: str, size: int, content_type: str) -> PresignedUpload:
        """Every URL signs `Content-Length`: storage refuses a PUT of any other length."""
        settings = self._settings
        if size < 0:
            raise ValueError("size must not be negative")
        if size > settings.max_upload_bytes:
            raise UploadTooLarge(settings.max_upload_bytes)
        validate_key(key)
        client = await self._connection.client()
        signer = await self._connection.client("presign")
        ttl = settings.presigned_url_ttl_seconds
        expires_at = datetime.now(UTC) + timedelta(seconds=ttl)
        if size <= settings.part_size_bytes:
            url = await signer.generate_presigned_url(
                "put_object",
                Params={
                    "Bucket": settings.bucket,
                    "Key": key,
                    "ContentType": content_type,
                    "ContentLength": size,
                },
                ExpiresIn=ttl,
            )
            headers = {"Content-Type": content_type}
            return PresignedUpload(key, size, expires_at, url=url, headers=headers)
        part_size = direct_part_size(size, settings.part_size_bytes)
        async with self._connection.translated(f"start direct upload of {key!r}"):
            started = await client.create_multipart_upload(
                Bucket=settings.bucket, Key=key, ContentType=content_type
            )
        upload_id = started["UploadId"]
        parts = []
        for number in range(1, math.ceil(size / part_size) + 1):
            part_bytes = min(part_size, size - (number - 1) * part_size)
            url = await signer.generate_presigned_url(
                "upload_part",
                Params={
                    "Bucket": settings.bucket,
                    "Key": key,
                    "UploadId": upload_id,
                    "PartNumber": number,
                    "ContentLength": part_bytes,
                },
                ExpiresIn=ttl,
            )
            parts.append(PresignedPart(number, url, part_bytes))
        return PresignedUpload(
            key, size, expires_at, upload_id=upload_id, part_size=part_size, parts=tuple(parts)
        )

    async def complete(
        self,
        key: str,
        *,
        size: int,
        upload_id: str | None = None,
        parts: Sequence[UploadedPart] = (),
    ) -> StoredObject:
        validate_key(key)
        if upload_id is not None:
            await self._complete_multipart(key, size, upload_id, parts)
        stored_size = await check_stored_size(self._objects, key, size)
        return StoredObject(key, stored_size, None)

    async def abort(self, key: str, upload_id: str | None = None) -> None:
        validate_key(key)
        if upload_id is not None:
            async with self._connection.translated(f"abort direct upload of {key!r}"):
                await self._connection.abort_upload(key, upload_id)
        await self._objects.delete(key)

    async def _complete_multipart(
        self, key: str, size: int, upload_id: str, reported: Sequence[UploadedPart]
    ) -> None:
        bucket = self._settings.bucket
        client = await self._connection.client()
        parts: list[CompletedPartTypeDef] = []
        received = 0
        async with self._connection.translated(f"complete direct upload of {key!r}"):
            try:
                paginator = client.get_paginator("list_parts")
                pages = paginator.paginate(Bucket=bucket, Key=key, UploadId=upload_id)
                async for page in pages:
                    for part in page.get("Parts", []):
                        parts.append({"PartNumber": part["PartNumber"], "ETag": part["ETag"]})
                        received += part["Size"]
            except ClientError as error:
                if error_code(error) not in MISSING_CODES:
                    raise
                if await self._objects.head(key) == size:
                    return  # completed by an earlier call that failed after this point
                raise ObjectNotFound(f"no open direct upload {upload_id!r} for {key!r}") from error
            numbers = [part["PartNumber"] for part in parts]
            problem = check_received_parts(received, size, numbers, self._settings.max_upload_bytes)
            if problem is not None:
                refusal, discard = problem
                if discard:
                    await self._connection.abort_upload(key, upload_id)
                raise refusal
            received_etags = {p["PartNumber"]: p["ETag"].strip('"') for p in parts}
            if reported and _etags(reported) != received_etags:
                raise UploadIncomplete(
                    "the parts and ETags sent do not match what storage received; "
                    "re-upload the differing parts or complete without a parts list"
                )
            await client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )


def _etags(parts: Sequence[UploadedPart]) -> dict[int, str]:
    return {part.part_number: part.etag.strip('"') for part in parts}
