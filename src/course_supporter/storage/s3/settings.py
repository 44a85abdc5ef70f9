"""The S3 backend's settings: one object, built once from `Settings` (env vars unchanged)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Self

from course_supporter.config import Settings

AddressingStyle = Literal["auto", "path", "virtual"]
ChecksumMode = Literal["auto", "crc32", "none"]


@dataclass(frozen=True, slots=True)
class S3Settings:
    """Everything the S3 backend reads; the defaults live in `Settings` alone."""

    bucket: str
    endpoint_url: str | None
    # Endpoint written into presigned URLs, when clients reach storage at another address.
    presign_endpoint_url: str | None
    access_key_id: str | None
    secret_access_key: str | None
    region: str
    addressing_style: AddressingStyle
    create_bucket: bool
    part_size_bytes: int
    parts_in_flight: int
    checksum: ChecksumMode
    max_upload_bytes: int
    presigned_url_ttl_seconds: int
    health_check_timeout_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            presign_endpoint_url=settings.s3_presign_endpoint_url,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
            region=settings.s3_region,
            addressing_style=settings.s3_addressing_style,
            create_bucket=settings.s3_create_bucket,
            part_size_bytes=settings.s3_part_size_bytes,
            parts_in_flight=settings.s3_parts_in_flight,
            checksum=settings.s3_checksum,
            max_upload_bytes=settings.max_upload_bytes,
            presigned_url_ttl_seconds=settings.presigned_url_ttl_seconds,
            health_check_timeout_seconds=settings.health_check_timeout_seconds,
        )
