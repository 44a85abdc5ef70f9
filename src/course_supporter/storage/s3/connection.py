"""Pooled aiobotocore clients for one bucket, and botocore failures told in our terms."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import datetime
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

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

from course_supporter.storage.errors import StorageUnavailable
from course_supporter.storage.s3.settings import ChecksumMode, S3Settings

ClientPurpose = Literal["work", "health", "presign", "upload"]

MIN_PART_BYTES = 5 * 1024 * 1024
MAX_ATTEMPTS = 4

# Stores that refuse the x-amz-checksum-* headers; "auto" sends none to them.
_NO_CHECKSUM_HOST_SUFFIXES = (".backblazeb2.com",)

MISSING_CODES = frozenset({"404", "NoSuchKey", "NoSuchBucket", "NotFound", "NoSuchUpload"})
_DENIED_CODES = frozenset(
    {"403", "AccessDenied", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch"}
)


class S3Connection:
    """One bucket's clients, one per purpose, opened on first use and closed together."""

    def __init__(self, settings: S3Settings) -> None:
        if settings.part_size_bytes < MIN_PART_BYTES:
            raise ValueError(f"S3 part size must be at least {MIN_PART_BYTES} bytes")
        self.settings = settings
        self.bucket = settings.bucket
        self.sends_checksums = _sends_checksums(settings.checksum, settings.endpoint_url)
        self._session = _shared_session()
        self._exit_stack = AsyncExitStack()
        self._clients: dict[ClientPurpose, S3Client] = {}
        self._client_lock = asyncio.Lock()

    async def client(self, purpose: ClientPurpose = "work") -> S3Client:
        """A pooled client per purpose: work, health (no retries), presign, upload (see _config)."""
        settings = self.settings
        if purpose == "presign" and not settings.presign_endpoint_url:
            purpose = "work"
        if purpose not in self._clients:
            async with self._client_lock:
                if purpose not in self._clients:
                    endpoint = settings.presign_endpoint_url if purpose == "presign" else None
                    self._clients[purpose] = await self._exit_stack.enter_async_context(
                        self._session.create_client(
                            "s3",
                            endpoint_url=endpoint or settings.endpoint_url,
                            region_name=settings.region,
                            aws_access_key_id=settings.access_key_id,
                            aws_secret_access_key=settings.secret_access_key,
                            config=self._config(purpose),
                        )
                    )
        return self._clients[purpose]

    async def close(self) -> None:
        """Close the HTTP connection pools."""
        await self._exit_stack.aclose()
        self._clients.clear()

    async def open_uploads(self, prefix: str) -> AsyncIterator[tuple[str, str, datetime]]:
        """(key, upload id, initiated) of every multipart upload open under `prefix`."""
        client = await self.client()
        paginator = client.get_paginator("list_multipart_uploads")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for upload in page.get("Uploads", []):
                yield upload["Key"], upload["UploadId"], upload["Initiated"]

    async def abort_upload(self, key: str, upload_id: str) -> None:
        """Abort one multipart upload; one already gone is not an error."""
        client = await self.client()
        try:
            await client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except ClientError as error:
            if error_code(error) not in MISSING_CODES:
                raise

    @contextlib.asynccontextmanager
    async def translated(self, action: str) -> AsyncIterator[None]:
        """Turn botocore failures into `StorageUnavailable` naming the action and the cause."""
        try:
            yield
        except (BotoCoreError, ClientError) as error:
            raise StorageUnavailable(f"{action}: {self.describe(error)}") from error

    @property
    def endpoint_name(self) -> str:
        return self.settings.endpoint_url or f"AWS S3 ({self.settings.region})"

    def describe(self, error: BotoCoreError | ClientError) -> str:
        """What went wrong, and what the operator can change about it."""
        if isinstance(error, NoCredentialsError):
            return "no S3 credentials: set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY"
        if isinstance(error, EndpointConnectionError):
            return f"cannot reach S3 endpoint {self.endpoint_name}"
        if isinstance(error, BotoCoreError):
            return f"S3 endpoint {self.endpoint_name}: {error}"
        code = error_code(error)
        if code in _DENIED_CODES:
            return (
                f"S3 denied access to bucket {self.bucket!r} ({code}): "
                "check S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY and the key's permissions"
            )
        if code in {"404", "NoSuchBucket"}:
            return f"S3 bucket {self.bucket!r} does not exist at {self.endpoint_name}"
        message = error.response.get("Error", {}).get("Message", "")
        return f"S3 error {code} on bucket {self.bucket!r}: {message}".rstrip(": ")

    def _config(self, purpose: ClientPurpose) -> AioConfig:
        timeout = self.settings.health_check_timeout_seconds
        health = purpose == "health"
        s3: dict[str, object] = {"addressing_style": self.settings.addressing_style}
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


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


@functools.cache
def _shared_session() -> AioSession:
    """One botocore session per process: loading the S3 models and endpoint rules is slow."""
    return AioSession()


def _sends_checksums(mode: ChecksumMode, endpoint_url: str | None) -> bool:
    if mode != "auto":
        return mode == "crc32"
    host = (urlsplit(endpoint_url).hostname or "") if endpoint_url else ""
    return not host.endswith(_NO_CHECKSUM_HOST_SUFFIXES)
