"""Storage and upload errors; each names the HTTP status the API should answer with."""

from __future__ import annotations


class StorageError(Exception):
    """Base for everything the storage layer raises on purpose."""

    http_status = 500


class StorageUnavailable(StorageError):
    """The backend cannot be reached or refuses us (credentials, bucket, disk)."""

    http_status = 503


class ObjectNotFound(StorageError):
    """No object under the key (or no open upload with that id)."""

    http_status = 404


class InvalidKey(StorageError, ValueError):
    """A key or id that could escape its namespace or the storage directory."""

    http_status = 400


class NotSupported(StorageError):
    """The configured backend cannot do this (presigned uploads on local storage)."""

    http_status = 501


class UploadTooLarge(StorageError):
    """The upload passed `max_bytes`; whatever was stored so far is gone."""

    http_status = 413

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"upload exceeds the limit of {max_bytes} bytes")
        self.max_bytes = max_bytes


class UploadIncomplete(StorageError):
    """A direct upload was completed before all its bytes or parts arrived."""

    http_status = 409


class UploadFormError(StorageError):
    """The multipart/form-data body is not what the upload endpoint expects."""

    http_status = 422


class MalformedMultipart(UploadFormError):
    """The body is not parseable multipart/form-data or ends too early."""

    http_status = 400


class MissingFormField(UploadFormError):
    """A required text field or the file part is absent or came in the wrong order."""

    http_status = 422


class FormFieldTooLarge(UploadFormError):
    """A text field is longer than the endpoint allows."""

    http_status = 413
