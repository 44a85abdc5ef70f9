"""Object storage backends (local directory, S3-compatible) and streaming uploads."""

from __future__ import annotations

from course_supporter.config import Settings, StorageBackend
from course_supporter.storage.backend import (
    ObjectStorage,
    ObjectWriter,
    PresignedPart,
    PresignedUpload,
    StoredObject,
    UploadedPart,
)
from course_supporter.storage.errors import (
    FormFieldTooLarge,
    FormTooLarge,
    InvalidFilename,
    InvalidKey,
    LengthMismatch,
    LengthRequired,
    MalformedMultipart,
    MissingFormField,
    ObjectNotFound,
    SignatureRejected,
    StorageError,
    StorageUnavailable,
    UploadFormError,
    UploadIncomplete,
    UploadTooLarge,
)
from course_supporter.storage.keys import (
    course_prefix,
    material_key,
    normalise_filename,
    safe_filename,
)
from course_supporter.storage.local import LocalStorage
from course_supporter.storage.s3 import S3Settings, S3Storage
from course_supporter.storage.streaming import ReceivedUpload, receive_multipart_upload


def build_storage(settings: Settings) -> ObjectStorage:
    """The backend `STORAGE_BACKEND` selects, configured from settings."""
    if settings.storage_backend is StorageBackend.S3:
        return S3Storage(S3Settings.from_settings(settings))
    secret = settings.upload_signing_secret
    return LocalStorage(
        settings.storage_dir,
        max_upload_bytes=settings.max_upload_bytes,
        health_check_timeout_seconds=settings.health_check_timeout_seconds,
        part_size_bytes=settings.s3_part_size_bytes,
        presigned_url_ttl_seconds=settings.presigned_url_ttl_seconds,
        upload_base_url=settings.public_base_url or "",
        signing_secret=secret.get_secret_value() if secret else None,
    )


__all__ = [
    "FormFieldTooLarge",
    "FormTooLarge",
    "InvalidFilename",
    "InvalidKey",
    "LengthMismatch",
    "LengthRequired",
    "LocalStorage",
    "MalformedMultipart",
    "MissingFormField",
    "ObjectNotFound",
    "ObjectStorage",
    "ObjectWriter",
    "PresignedPart",
    "PresignedUpload",
    "ReceivedUpload",
    "S3Settings",
    "S3Storage",
    "SignatureRejected",
    "StorageError",
    "StorageUnavailable",
    "StoredObject",
    "UploadFormError",
    "UploadIncomplete",
    "UploadTooLarge",
    "UploadedPart",
    "build_storage",
    "course_prefix",
    "material_key",
    "normalise_filename",
    "receive_multipart_upload",
    "safe_filename",
]
