"""S3-compatible backend (AWS S3, Backblaze B2, MinIO): `STORAGE_BACKEND=s3`."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import hashlib
import io
import math
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypedDict
from urllib.parse import urlsplit

import structlog
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
)

if TYPE_CHECKING:  # typing stubs, a dev-only dependency
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef

from course_supporter.storage.backend import (
    ObjectWriter,
    PresignedPart,
    PresignedUpload,
    StoredObject,
    UploadedPart,
    check_received_parts,
    direct_part_size,
)
from course_supporter.storage.errors import (
    ObjectNotFound,
    StorageUnavailable,
    UploadIncomplete,
    UploadTooLarge,
)
from course_supporter.storage.keys import validate_key, validate_prefix

AddressingStyle = Literal["auto", "path", "virtual"]
ChecksumMode = Literal["auto", "crc32", "none"]
ClientPurpose = Literal["work", "health", "presign", "upload"]

MIN_PART_BYTES = 5 * 1024 * 1024
DOWNLOAD_CHUNK_BYTES = 1024 * 1024
DELETE_BATCH = 1000
MAX_ATTEMPTS = 4

# Stores that refuse the x-amz-checksum-* headers; "auto" sends none to them.
_NO_CHECKSUM_HOST_SUFFIXES = (".backblazeb2.com",)

_MISSING_CODES = frozenset({"404", "NoSuchKey", "NoSuchBucket", "NotFound", "NoSuchUpload"})
_DENIED_CODES = frozenset(
    {"403", "AccessDenied", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch"}
)

log = structlog.get_logger(__name__)


class S3Storage:
    """Uses aiobotocore: async, streams multipart uploads, same botocore signs presigned URLs."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None = None,
        presign_endpoint_url: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        region: str = "us-east-1",
        addressing_style: AddressingStyle = "auto",
        create_bucket: bool = True,
        part_size_bytes: int = 10 * 1024 * 1024,
        parts_in_flight: int = 1,
        checksum: ChecksumMode = "auto",
        max_upload_bytes: int = 1024**3,
        presigned_url_ttl_seconds: int = 3600,
        health_check_timeout_seconds: float = 2.0,
    ) -> None:
        if part_size_bytes < MIN_PART_BYTES:
            raise ValueError(f"S3 part size must be at least {MIN_PART_BYTES} bytes")
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.presign_endpoint_url = presign_endpoint_url
        self.region = region
        self.create_bucket = create_bucket
        self.part_size_bytes = part_size_bytes
        self.parts_in_flight = parts_in_flight
        self.sends_checksums = _sends_checksums(checksum, endpoint_url)
        self.max_upload_bytes = max_upload_bytes
        self.presigned_url_ttl_seconds = presigned_url_ttl_seconds
        self.health_check_timeout_seconds = health_check_timeout_seconds
        self._credentials = (access_key_id, secret_access_key)
        self._addressing_style = addressing_style
        self._session = _shared_session()
        self._exit_stack = AsyncExitStack()
        self._clients: dict[ClientPurpose, S3Client] = {}
        self._client_lock = asyncio.Lock()

    async def open_writer(
        self, key: str, content_type: str, *, max_bytes: int | None = None
    ) -> ObjectWriter:
        """Start an upload: one PUT if it fits in a part, a multipart upload otherwise."""
        limit = self.max_upload_bytes if max_bytes is None else max_bytes
        client = await self._client()
        return S3Writer(
            validate_key(key),
            limit,
            client=client,
            data_client=await self._client("upload") if self.sends_checksums else client,
            bucket=self.bucket,
            content_type=content_type,
            part_size=self.part_size_bytes,
            parts_in_flight=self.parts_in_flight,
            checksums=self.sends_checksums,
        )

    async def delete(self, key: str) -> None:
        """Delete one object; S3 treats a missing key as success."""
        client = await self._client()
        async with self._translated(f"delete {key!r}"):
            await client.delete_object(Bucket=self.bucket, Key=validate_key(key))

    async def delete_prefix(self, prefix: str) -> int:
        """Delete all objects under `prefix` and abort its open multipart uploads."""
        client = await self._client()
        validate_prefix(prefix)
        deleted = 0
        async with self._translated(f"delete prefix {prefix!r}"):
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
            async for key, upload_id, _ in self._open_uploads(prefix):
                await self._abort_upload(key, upload_id)
        return deleted

    async def download_to(self, key: str, path: Path) -> StoredObject:
        """Stream the object into `path` 1 MiB at a time, hashing it; no partial file on failure."""
        client = await self._client()
        sha256 = hashlib.sha256()
        size = 0
        async with self._translated(f"download {key!r}"):
            try:
                response = await client.get_object(Bucket=self.bucket, Key=validate_key(key))
            except ClientError as error:
                if _code(error) in _MISSING_CODES:
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
        client = await self._client()
        async with self._translated(f"head {key!r}"):
            try:
                response = await client.head_object(Bucket=self.bucket, Key=validate_key(key))
            except ClientError as error:
                if _code(error) in _MISSING_CODES:
                    return None
                raise
        return response["ContentLength"]

    async def read_head(self, key: str, size: int) -> bytes:
        """A ranged GET of the first `size` bytes."""
        client = await self._client()
        async with self._translated(f"read {key!r}"):
            try:
                response = await client.get_object(
                    Bucket=self.bucket, Key=validate_key(key), Range=f"bytes=0-{size - 1}"
                )
            except ClientError as error:
                if _code(error) in _MISSING_CODES:
                    raise ObjectNotFound(f"no stored object {key!r}") from error
                raise
            async with response["Body"] as body:
                head: bytes = await body.read()
        # A server that ignores Range sends everything; it is read once and cut here.
        return head[:size]

    async def check(self) -> None:
        """HEAD the bucket with a no-retry client, within the health-check timeout."""
        client = await self._client("health")
        try:
            async with asyncio.timeout(self.health_check_timeout_seconds):
                await client.head_bucket(Bucket=self.bucket)
        except TimeoutError as error:
            raise StorageUnavailable(
                f"S3 endpoint {self._endpoint_name} did not answer within "
                f"{self.health_check_timeout_seconds:g}s"
            ) from error
        except (BotoCoreError, ClientError) as error:
            raise StorageUnavailable(self._describe(error)) from error

    async def ensure_bucket(self) -> None:
        """Create the bucket when it is missing and `S3_CREATE_BUCKET` allows it."""
        client = await self._client()
        try:
            await client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as error:
            if _code(error) not in _MISSING_CODES:
                raise StorageUnavailable(self._describe(error)) from error
        except BotoCoreError as error:
            raise StorageUnavailable(self._describe(error)) from error
        if not self.create_bucket:
            raise StorageUnavailable(
                f"S3 bucket {self.bucket!r} does not exist and S3_CREATE_BUCKET is false"
            )
        async with self._translated(f"create bucket {self.bucket!r}"):
            try:
                if self.region == "us-east-1":
                    await client.create_bucket(Bucket=self.bucket)
                else:
                    await client.create_bucket(
                        Bucket=self.bucket,
                        CreateBucketConfiguration={"LocationConstraint": self.region},  # type: ignore[typeddict-item]
                    )
            except ClientError as error:
                if _code(error) != "BucketAlreadyOwnedByYou":
                    raise
        log.info("storage.bucket_created", bucket=self.bucket)

    async def presign_upload(self, key: str, size: int, content_type: str) -> PresignedUpload:
        """Presign one PUT for up to one part, else a multipart upload with a URL per part.

        Every URL signs `Content-Length`: storage refuses a PUT of any other length.
        """
        if size < 0:
            raise ValueError("size must not be negative")
        if size > self.max_upload_bytes:
            raise UploadTooLarge(self.max_upload_bytes)
        validate_key(key)
        client = await self._client()
        signer = await self._client("presign")
        ttl = self.presigned_url_ttl_seconds
        expires_at = datetime.now(UTC) + timedelta(seconds=ttl)
        if size <= self.part_size_bytes:
            url = await signer.generate_presigned_url(
                "put_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": key,
                    "ContentType": content_type,
                    "ContentLength": size,
                },
                ExpiresIn=ttl,
            )
            headers = {"Content-Type": content_type}
            return PresignedUpload(key, size, expires_at, url=url, headers=headers)
        part_size = direct_part_size(size, self.part_size_bytes)
        async with self._translated(f"start direct upload of {key!r}"):
            started = await client.create_multipart_upload(
                Bucket=self.bucket, Key=key, ContentType=content_type
            )
        upload_id = started["UploadId"]
        parts = []
        for number in range(1, math.ceil(size / part_size) + 1):
            part_bytes = min(part_size, size - (number - 1) * part_size)
            url = await signer.generate_presigned_url(
                "upload_part",
                Params={
                    "Bucket": self.bucket,
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

    async def complete_presigned(
        self,
        key: str,
        *,
        size: int,
        upload_id: str | None = None,
        parts: Sequence[UploadedPart] = (),
    ) -> StoredObject:
        """Finish a direct upload; a wrong or oversized result is deleted and reported."""
        validate_key(key)
        if upload_id is not None:
            await self._complete_direct_multipart(key, size, upload_id, parts)
        stored_size = await self.head(key)
        if stored_size is None:
            raise UploadIncomplete(f"nothing has been uploaded to {key!r} yet")
        if stored_size > self.max_upload_bytes:
            await self.delete(key)
            raise UploadTooLarge(self.max_upload_bytes)
        if stored_size != size:
            await self.delete(key)
            raise UploadIncomplete(
                f"uploaded object has {stored_size} bytes, {size} were announced; it was discarded"
            )
        return StoredObject(key, stored_size, None)

    async def abort_presigned(self, key: str, upload_id: str | None = None) -> None:
        """Abort the multipart upload (if any) and delete whatever object landed under `key`."""
        validate_key(key)
        if upload_id is not None:
            async with self._translated(f"abort direct upload of {key!r}"):
                await self._abort_upload(key, upload_id)
        await self.delete(key)

    async def abort_stale_uploads(self, older_than: timedelta) -> int:
        """Abort multipart uploads (abandoned direct uploads, crashed writers) older than given."""
        cutoff = datetime.now(UTC) - older_than
        aborted = 0
        async with self._translated("abort stale uploads"):
            async for key, upload_id, initiated in self._open_uploads(""):
                if initiated < cutoff:
                    await self._abort_upload(key, upload_id)
                    aborted += 1
        return aborted

    async def close(self) -> None:
        """Close the HTTP connection pools."""
        await self._exit_stack.aclose()
        self._clients.clear()

    async def _complete_direct_multipart(
        self, key: str, size: int, upload_id: str, reported: Sequence[UploadedPart]
    ) -> None:
        client = await self._client()
        parts: list[CompletedPartTypeDef] = []
        received = 0
        async with self._translated(f"complete direct upload of {key!r}"):
            try:
                paginator = client.get_paginator("list_parts")
                pages = paginator.paginate(Bucket=self.bucket, Key=key, UploadId=upload_id)
                async for page in pages:
                    for part in page.get("Parts", []):
                        parts.append({"PartNumber": part["PartNumber"], "ETag": part["ETag"]})
                        received += part["Size"]
            except ClientError as error:
                if _code(error) not in _MISSING_CODES:
                    raise
                if await self.head(key) == size:
                    return  # completed by an earlier call that failed after this point
                raise ObjectNotFound(f"no open direct upload {upload_id!r} for {key!r}") from error
            numbers = [part["PartNumber"] for part in parts]
            problem = check_received_parts(received, size, numbers, self.max_upload_bytes)
            if problem is not None:
                refusal, discard = problem
                if discard:
                    await self._abort_upload(key, upload_id)
                raise refusal
            received_etags = {p["PartNumber"]: p["ETag"].strip('"') for p in parts}
            if reported and _etags(reported) != received_etags:
                raise UploadIncomplete(
                    "the parts and ETags sent do not match what storage received; "
                    "re-upload the differing parts or complete without a parts list"
                )
            await client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )

    async def _keys_under(self, prefix: str) -> AsyncIterator[list[str]]:
        client = await self._client()
        paginator = client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(
            Bucket=self.bucket, Prefix=prefix, PaginationConfig={"PageSize": DELETE_BATCH}
        ):
            keys = [item["Key"] for item in page.get("Contents", [])]
            if keys:
                yield keys

    async def _open_uploads(self, prefix: str) -> AsyncIterator[tuple[str, str, datetime]]:
        client = await self._client()
        paginator = client.get_paginator("list_multipart_uploads")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for upload in page.get("Uploads", []):
                yield upload["Key"], upload["UploadId"], upload["Initiated"]

    async def _abort_upload(self, key: str, upload_id: str) -> None:
        client = await self._client()
        try:
            await client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as error:
            if _code(error) not in _MISSING_CODES:
                raise

    async def _client(self, purpose: ClientPurpose = "work") -> S3Client:
        """A pooled client per purpose: work, health (no retries), presign, upload (see _config)."""
        if purpose == "presign" and not self.presign_endpoint_url:
            purpose = "work"
        if purpose not in self._clients:
            async with self._client_lock:
                if purpose not in self._clients:
                    endpoint = self.presign_endpoint_url if purpose == "presign" else None
                    self._clients[purpose] = await self._exit_stack.enter_async_context(
                        self._session.create_client(
                            "s3",
                            endpoint_url=endpoint or self.endpoint_url,
                            region_name=self.region,
                            aws_access_key_id=self._credentials[0],
                            aws_secret_access_key=self._credentials[1],
                            config=self._config(purpose),
                        )
                    )
        return self._clients[purpose]

    def _config(self, purpose: ClientPurpose) -> AioConfig:
        timeout = self.health_check_timeout_seconds
        health = purpose == "health"
        s3: dict[str, object] = {"addressing_style": self._addressing_style}
        if purpose == "upload":
            # Upload bodies carry x-amz-checksum-crc32, which storage verifies, instead of a
            # SHA-256 of the body in the signature: one pass less over every byte (botocore
            # already does this on https when a checksum header is present; here also on
            # http). Headers, including the checksum, stay signed.
            s3["payload_signing_enabled"] = False
        return AioConfig(
            signature_version="s3v4",
            s3=s3,
            connect_timeout=timeout if health else 10,
            read_timeout=timeout if health else 120,
            retries={"max_attempts": 1 if health else MAX_ATTEMPTS, "mode": "standard"},
            # S3-compatible stores (B2, older MinIO) reject the newer default CRC trailers.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )

    @contextlib.asynccontextmanager
    async def _translated(self, action: str) -> AsyncIterator[None]:
        """Turn botocore failures into `StorageUnavailable` naming the action and the cause."""
        try:
            yield
        except (BotoCoreError, ClientError) as error:
            raise StorageUnavailable(f"{action}: {self._describe(error)}") from error

    @property
    def _endpoint_name(self) -> str:
        return self.endpoint_url or f"AWS S3 ({self.region})"

    def _describe(self, error: BotoCoreError | ClientError) -> str:
        if isinstance(error, NoCredentialsError):
            return "no S3 credentials: set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY"
        if isinstance(error, EndpointConnectionError):
            return f"cannot reach S3 endpoint {self._endpoint_name}"
        if isinstance(error, BotoCoreError):
            return f"S3 endpoint {self._endpoint_name}: {error}"
        code = _code(error)
        if code in _DENIED_CODES:
            return (
                f"S3 denied access to bucket {self.bucket!r} ({code}): "
                "check S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY and the key's permissions"
            )
        if code in {"404", "NoSuchBucket"}:
            return f"S3 bucket {self.bucket!r} does not exist at {self._endpoint_name}"
        message = error.response.get("Error", {}).get("Message", "")
        return f"S3 error {code} on bucket {self.bucket!r}: {message}".rstrip(": ")


class S3Writer(ObjectWriter):
    """One PUT when the object fits in a part, else multipart; holds (1 + parts_in_flight) parts.

    With `parts_in_flight` ≥ 1, full parts upload in the background while the next one
    fills, so receiving from the client and sending to S3 overlap. With `checksums`, every
    PUT carries the CRC32 of its bytes for storage to verify, and the multipart upload is
    created as a CRC32 one (parts listed with their checksums on completion).
    """

    def __init__(
        self,
        key: str,
        max_bytes: int,
        *,
        client: S3Client,
        bucket: str,
        content_type: str,
        part_size: int,
        parts_in_flight: int = 1,
        checksums: bool = False,
        data_client: S3Client | None = None,
    ) -> None:
        super().__init__(key, max_bytes)
        self._client = client
        self._data_client = data_client or client
        self._bucket = bucket
        self._content_type = content_type
        self._part_size = part_size
        self._parts_in_flight = parts_in_flight
        self._checksums = checksums
        # A BytesIO body is sent in 256 KiB slices with flow control; bytes would be copied
        # whole into the transport buffer, doubling the memory per part. A sent part's
        # buffer is refilled rather than freed: fresh ones grow by reallocation and
        # fragment the heap (RSS up to half a part above the parts held).
        self._buffer = io.BytesIO()
        self._buffered = 0
        self._spare_buffers: list[io.BytesIO] = []
        self._crc32 = 0
        self._upload_id: str | None = None
        self._next_part_number = 1
        self._parts: list[CompletedPartTypeDef] = []
        self._uploading: set[asyncio.Task[None]] = set()
        self._publish_attempted = False

    @property
    def buffered_bytes(self) -> int:
        """Bytes held in memory, waiting to be sent as the next part."""
        return self._buffered

    async def _write(self, chunk: bytes) -> None:
        data = memoryview(chunk)
        while data:
            # Parts are exactly part_size: a buffer sized for one never reallocates.
            room = self._part_size - self._buffered
            piece, data = data[:room], data[room:]
            # Our own offset, not the buffer's position: nothing that read the buffer while
            # it was a request body can move where the next part's bytes go.
            self._buffer.seek(self._buffered)
            self._buffered += self._buffer.write(piece)
            if self._checksums:
                self._crc32 = binascii.crc32(piece, self._crc32)
            if self._buffered == self._part_size:
                await self._send_buffer_as_part()

    async def _complete(self) -> None:
        self._publish_attempted = True
        if self._upload_id is None:
            body, checksum = self._take_buffer()
            async with _storing(self.key):
                await self._data_client.put_object(
                    Bucket=self._bucket,
                    Key=self.key,
                    Body=body,
                    ContentType=self._content_type,
                    **checksum,
                )
            return
        if self.buffered_bytes:
            await self._send_buffer_as_part(last=True)
        while self._uploading:
            await self._wait_for_a_part()
        async with _storing(self.key):
            await self._client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=self.key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": sorted(self._parts, key=lambda p: p["PartNumber"])},
            )

    async def _abort(self) -> None:
        self._buffer = io.BytesIO()
        self._buffered = 0
        for task in self._uploading:
            task.cancel()
        await asyncio.gather(*self._uploading, return_exceptions=True)
        self._uploading.clear()
        self._spare_buffers.clear()
        if self._upload_id is not None:
            await self._clean_up(
                self._client.abort_multipart_upload(
                    Bucket=self._bucket, Key=self.key, UploadId=self._upload_id
                )
            )
        if self._publish_attempted:
            await self._clean_up(self._client.delete_object(Bucket=self._bucket, Key=self.key))

    async def _clean_up(self, request: Awaitable[object]) -> None:
        """Cleanup must not mask the original error; `abort_stale_uploads` sweeps leftovers."""
        try:
            await request
        except ClientError as error:
            if _code(error) not in _MISSING_CODES:
                log.warning("storage.abort_failed", key=self.key, error=str(error))
        except BotoCoreError as error:
            log.warning("storage.abort_failed", key=self.key, error=str(error))

    async def _send_buffer_as_part(self, *, last: bool = False) -> None:
        if self._upload_id is None:
            algorithm: _Algorithm = {"ChecksumAlgorithm": "CRC32"} if self._checksums else {}
            async with _storing(self.key):
                started = await self._client.create_multipart_upload(
                    Bucket=self._bucket, Key=self.key, ContentType=self._content_type, **algorithm
                )
            self._upload_id = started["UploadId"]
        number, self._next_part_number = self._next_part_number, self._next_part_number + 1
        upload = self._upload_part(number, *self._take_buffer())
        if self._parts_in_flight == 0:
            await upload
        else:
            # Send at once, then wait before filling another part: the part just sent
            # travels while storage still digests the one before, and memory stays at
            # 1 + parts_in_flight parts.
            self._uploading.add(asyncio.create_task(upload))
            while len(self._uploading) > self._parts_in_flight:
                await self._wait_for_a_part()
        if last:
            return
        # The object spans several parts: give the next one all its room up front.
        self._buffer = (
            self._spare_buffers.pop() if self._spare_buffers else _part_buffer(self._part_size)
        )

    async def _upload_part(self, number: int, body: io.BytesIO, checksum: _Checksum) -> None:
        assert self._upload_id is not None
        try:
            async with _storing(self.key):
                uploaded = await self._data_client.upload_part(
                    Bucket=self._bucket,
                    Key=self.key,
                    UploadId=self._upload_id,
                    PartNumber=number,
                    Body=body,
                    **checksum,
                )
        finally:
            self._spare_buffers.append(body)
        part: CompletedPartTypeDef = {"PartNumber": number, "ETag": uploaded["ETag"]}
        if "ChecksumCRC32" in checksum:
            part["ChecksumCRC32"] = checksum["ChecksumCRC32"]
        self._parts.append(part)

    async def _wait_for_a_part(self) -> None:
        """Wait until a background part finishes; re-raise its error, if any."""
        done, _ = await asyncio.wait(self._uploading, return_when=asyncio.FIRST_COMPLETED)
        self._uploading -= done
        for task in done:
            task.result()

    def _take_buffer(self) -> tuple[io.BytesIO, _Checksum]:
        body, self._buffer = self._buffer, io.BytesIO()
        body.truncate(self._buffered)  # a refilled buffer may hold an earlier part's end
        body.seek(0)
        self._buffered = 0
        checksum: _Checksum = {}
        if self._checksums:
            checksum["ChecksumCRC32"] = base64.b64encode(self._crc32.to_bytes(4, "big")).decode()
            self._crc32 = 0
        return body, checksum


def _part_buffer(size: int) -> io.BytesIO:
    """An empty-to-be BytesIO with room for `size` bytes; the writer truncates what it sends.

    BytesIO shares the zeroed bytes it starts from and writes in place while nothing else
    holds them; large zeroed allocations are untouched pages, resident only once written.
    """
    return io.BytesIO(bytes(size))


class _Checksum(TypedDict, total=False):
    ChecksumCRC32: str


class _Algorithm(TypedDict, total=False):
    ChecksumAlgorithm: Literal["CRC32"]


@contextlib.asynccontextmanager
async def _storing(key: str) -> AsyncIterator[None]:
    """Report a failed write as `StorageUnavailable` naming the object."""
    try:
        yield
    except (BotoCoreError, ClientError) as error:
        raise StorageUnavailable(f"storing {key!r} failed: {error}") from error


@functools.cache
def _shared_session() -> AioSession:
    """One botocore session per process: loading the S3 models and endpoint rules is slow."""
    return AioSession()


def _sends_checksums(mode: ChecksumMode, endpoint_url: str | None) -> bool:
    if mode != "auto":
        return mode == "crc32"
    host = (urlsplit(endpoint_url).hostname or "") if endpoint_url else ""
    return not host.endswith(_NO_CHECKSUM_HOST_SUFFIXES)


def _etags(parts: Sequence[UploadedPart]) -> dict[int, str]:
    return {part.part_number: part.etag.strip('"') for part in parts}


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
