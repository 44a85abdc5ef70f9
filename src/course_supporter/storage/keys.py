"""Object keys: tenant-namespaced layout and sanitised user file names."""

from __future__ import annotations

import re
import unicodedata
from uuid import UUID

from course_supporter.storage.errors import InvalidFilename, InvalidKey

MAX_FILENAME_BYTES = 150
MAX_CLIENT_FILENAME_BYTES = 255
MAX_EXTENSION_CHARS = 16
FALLBACK_FILENAME = "file"

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_UNSAFE_CHARS = re.compile(r"[^\w.\-+()]+")
_DOTS = re.compile(r"\.{2,}")
_UNDERSCORES = re.compile(r"_{2,}")
_EXTENSION = re.compile(rf"\.[A-Za-z0-9]{{1,{MAX_EXTENSION_CHARS}}}")


def material_key(
    tenant_id: UUID | str, course_id: UUID | str, material_id: UUID | str, filename: str
) -> str:
    """Key of a material's stored file: `tenants/…/courses/…/materials/…/{safe_filename}`."""
    material_prefix = f"{course_prefix(tenant_id, course_id)}materials/{_segment(material_id)}/"
    return material_prefix + safe_filename(filename)


def course_prefix(tenant_id: UUID | str, course_id: UUID | str) -> str:
    """Prefix (ending in `/`) under which every object of one course lives."""
    return f"tenants/{_segment(tenant_id)}/courses/{_segment(course_id)}/"


def normalise_filename(name: str) -> str:
    """A client's file name as recorded: NFC, trimmed, at most 255 UTF-8 bytes, no control
    characters (NUL among them); `InvalidFilename` (a ValueError) otherwise."""
    name = unicodedata.normalize("NFC", name).strip()
    if any(unicodedata.category(ch) in {"Cc", "Cs"} for ch in name):
        raise InvalidFilename("the file name contains NUL or other control characters")
    size = len(name.encode())
    if size > MAX_CLIENT_FILENAME_BYTES:
        raise InvalidFilename(
            f"the file name is {size} bytes long (UTF-8); at most {MAX_CLIENT_FILENAME_BYTES}"
        )
    return name


def safe_filename(name: str) -> str:
    """A user file name reduced to one harmless, non-empty path segment that keeps its extension."""
    base = re.split(r"[/\\]", name)[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in base)
    base = _UNSAFE_CHARS.sub("_", base.strip())
    base = _UNDERSCORES.sub("_", _DOTS.sub(".", base))
    base = base.lstrip("._-").rstrip("._")
    stem, extension = _split_extension(base)
    stem = _truncate_utf8(stem, MAX_FILENAME_BYTES - len(extension)).rstrip("._")
    return (stem or FALLBACK_FILENAME) + extension


def validate_key(key: str) -> str:
    """Return the key unchanged, or raise `InvalidKey` if a segment is empty, `.`/`..` or unsafe."""
    if not key or len(key.encode()) > 1024 or "\\" in key or "\x00" in key:
        raise InvalidKey(f"invalid object key {key!r}")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidKey(f"invalid object key {key!r}")
        if any(unicodedata.category(ch).startswith("C") for ch in segment):
            raise InvalidKey(f"invalid object key {key!r}")
    return key


def validate_prefix(prefix: str) -> str:
    """A prefix must be a valid key ending in `/`, so it never matches a sibling by accident."""
    if not prefix.endswith("/"):
        raise InvalidKey(f"prefix {prefix!r} must end with '/'")
    validate_key(prefix[:-1])
    return prefix


def _segment(value: UUID | str) -> str:
    text = str(value)
    if not _ID.fullmatch(text):
        raise InvalidKey(f"invalid id {text!r} in object key")
    return text


def _split_extension(name: str) -> tuple[str, str]:
    stem, dot, extension = name.rpartition(".")
    if dot and stem and _EXTENSION.fullmatch(dot + extension):
        return stem, dot + extension
    return name, ""


def _truncate_utf8(text: str, max_bytes: int) -> str:
    return text.encode()[:max_bytes].decode(errors="ignore")
