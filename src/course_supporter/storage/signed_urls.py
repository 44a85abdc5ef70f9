"""Upload URLs the API signs itself (local storage): HMAC-SHA256 over everything the PUT may do."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

from course_supporter.storage.errors import SignatureRejected

UPLOAD_PATH = "/storage/uploads/"
"""Route prefix the signed PUTs go to; the object key follows it."""

SECRET_FILENAME = ".upload-signing-secret"  # noqa: S105 (a file name, not a secret)
SECRET_BYTES = 32
MIN_SECRET_CHARS = 32


@dataclass(frozen=True, slots=True)
class SignedPut:
    """What one signed URL allows: PUT exactly `length` bytes to `key` (or a part) by `expires`."""

    key: str
    length: int
    expires: int
    upload_id: str | None = None
    part_number: int | None = None

    @property
    def path(self) -> str:
        return UPLOAD_PATH + quote(self.key, safe="/")

    def canonical(self) -> bytes:
        """The signed string; every field on its own line, so none can bleed into another."""
        fields = [
            "PUT",
            self.path,
            self.upload_id or "",
            "" if self.part_number is None else str(self.part_number),
            str(self.expires),
            str(self.length),
        ]
        return "\n".join(fields).encode()


class UploadSigner:
    """Signs and verifies `SignedPut`s with one secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def signature(self, put: SignedPut) -> str:
        return hmac.new(self._secret, put.canonical(), hashlib.sha256).hexdigest()

    def url(self, base_url: str, put: SignedPut) -> str:
        """`base_url` + path + signed query; with no `base_url` relative to the API's own URL."""
        query: dict[str, str | int] = {}
        if put.upload_id is not None and put.part_number is not None:
            query = {"upload_id": put.upload_id, "part_number": put.part_number}
        query |= {"expires": put.expires, "length": put.length, "signature": self.signature(put)}
        path = put.path.lstrip("/")
        prefix = f"{base_url.rstrip('/')}/" if base_url else ""
        return f"{prefix}{path}?{urlencode(query)}"

    def verify(self, put: SignedPut, signature: str, *, now: float | None = None) -> None:
        """Raise `SignatureRejected` unless `signature` is this secret's and not yet expired."""
        given = signature.encode(errors="replace")
        if not hmac.compare_digest(self.signature(put).encode(), given):
            raise SignatureRejected("the upload URL's signature does not match; use it unchanged")
        if (time.time() if now is None else now) > put.expires:
            raise SignatureRejected("the upload URL has expired; prepare a new upload")


def load_or_create_secret(root: Path) -> bytes:
    """The storage directory's signing secret, created (0600, race-free) on first use.

    Every process serving the same directory reads the same file, so each of them accepts
    the URLs any of them signed.
    """
    path = root / SECRET_FILENAME
    with contextlib.suppress(FileNotFoundError):
        return _read_secret(path)
    root.mkdir(parents=True, exist_ok=True)
    temp = root / f".{uuid.uuid4().hex}.secret"
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(SECRET_BYTES))
            file.flush()
            os.fsync(file.fileno())
        # link() never replaces: the first process to get here wins, the others read its file.
        with contextlib.suppress(FileExistsError):
            os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return _read_secret(path)


def _read_secret(path: Path) -> bytes:
    secret = path.read_text().strip()
    if len(secret) < MIN_SECRET_CHARS:
        raise ValueError(f"{path} holds no usable signing secret; delete it to make a new one")
    return secret.encode()
