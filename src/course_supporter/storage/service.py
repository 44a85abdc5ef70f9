"""Direct uploads the API receives itself (local storage), with storage errors as domain errors."""

from __future__ import annotations

from collections.abc import AsyncIterable

from course_supporter.errors import (
    DomainError,
    ForbiddenError,
    LengthRequiredError,
    NotFoundError,
    PayloadTooLargeError,
)
from course_supporter.storage.backend import ObjectStorage
from course_supporter.storage.errors import (
    InvalidKey,
    LengthMismatch,
    LengthRequired,
    ObjectNotFound,
    SignatureRejected,
    UploadTooLarge,
)
from course_supporter.storage.local import LocalStorage
from course_supporter.storage.signed_urls import SignedPut

NOT_HERE = "this deployment takes direct uploads at the URLs POST …/uploads returns, not here"


async def receive_signed_put(
    storage: ObjectStorage,
    put: SignedPut,
    signature: str,
    *,
    content_length: int | None,
    body: AsyncIterable[bytes],
) -> str:
    """Store a PUT to an upload URL this API signed; return the ETag for the complete call."""
    if not isinstance(storage, LocalStorage):
        raise NotFoundError(NOT_HERE)
    try:
        return await storage.receive_signed_put(
            put, signature, content_length=content_length, body=body
        )
    except SignatureRejected as exc:
        raise ForbiddenError(str(exc)) from exc
    except LengthRequired as exc:
        raise LengthRequiredError(str(exc)) from exc
    except UploadTooLarge as exc:
        raise PayloadTooLargeError(
            f"this URL takes exactly {exc.max_bytes} bytes; nothing was stored"
        ) from exc
    except LengthMismatch as exc:
        raise DomainError(str(exc)) from exc
    except (ObjectNotFound, InvalidKey) as exc:
        raise NotFoundError(str(exc)) from exc
