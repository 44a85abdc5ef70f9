"""Storage and upload errors; the services that call storage map them to domain errors."""

from __future__ import annotations


class StorageError(Exception):
    """Base for everything the storage layer raises on purpose."""


class StorageUnavailable(StorageError):
    """The backend cannot be reached or refuses us (credentials, bucket, disk)."""


class ObjectNotFound(StorageError):
    """No object under the key (or no open upload with that id)."""


class InvalidKey(StorageError, ValueError):
    """A key or id that could escape its namespace or the storage directory."""


class SignatureRejected(StorageError):
    """An upload URL signed by the API that was altered, signed with another secret or expired."""


class LengthRequired(StorageError):
    """A signed PUT without a `Content-Length` header: its length is part of the signature."""


class LengthMismatch(StorageError):
    """A signed PUT whose body is not exactly the signed length."""


class UploadTooLarge(StorageError):
    """The upload passed `max_bytes`; whatever was stored so far is gone."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"upload exceeds the limit of {max_bytes} bytes")
        self.max_bytes = max_bytes


class UploadIncomplete(StorageError):
    """A direct upload was completed before all its bytes or parts arrived."""


class UploadFormError(StorageError):
    """The multipart/form-data body is not what the upload endpoint expects."""


class MalformedMultipart(UploadFormError):
    """The body is not parseable multipart/form-data or ends too early."""


class MissingFormField(UploadFormError):
    """A required text field or the file part is absent or came in the wrong order."""


class FormFieldTooLarge(UploadFormError):
    """A text field is longer than the endpoint allows."""


class InvalidFilename(UploadFormError, ValueError):
    """A file name with NUL or other control characters, or too long once normalised."""


class FormTooLarge(UploadFormError):
    """The form is bigger than the endpoint reads: a part's headers, or the number of parts."""


class PartHeadersTooLarge(FormTooLarge):
    """A part's header block passed its cap before it ended."""


class TooManyParts(FormTooLarge):
    """The form has more parts than the endpoint accepts."""
