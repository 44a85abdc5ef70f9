"""Guard against zip bombs before an Office file (DOCX, PPTX) is opened."""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePath

from course_supporter.config import Settings
from course_supporter.ingestion.errors import IngestionError

_SMALL_MEMBER_BYTES = 1024 * 1024


def check_office_zip(path: Path, filename: str, settings: Settings) -> list[zipfile.ZipInfo]:
    """Refuse a file that is not a zip, or whose content would inflate beyond the limits
    (`INGEST_MAX_UNZIPPED_BYTES`, `INGEST_MAX_ZIP_RATIO`); return the archive's members."""
    max_unzipped_bytes = settings.ingest_max_unzipped_bytes
    max_ratio = settings.ingest_max_zip_ratio
    kind = PurePath(filename).suffix.lstrip(".").upper() or "Office"
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise IngestionError(
            f"{filename} is not a valid {kind} file (it is not a zip archive or it is damaged); "
            f"save it again as {kind} and re-upload"
        ) from None
    total = sum(member.file_size for member in members)
    packed = sum(member.compress_size for member in members)
    if total > max_unzipped_bytes:
        raise IngestionError(
            f"{filename} unpacks to {total / 2**20:,.0f} MB, more than the "
            f"{max_unzipped_bytes / 2**20:,.0f} MB allowed; remove large embedded media"
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > _SMALL_MEMBER_BYTES and ratio > max_ratio:
            raise IngestionError(
                f"{filename} looks like a zip bomb ({member.filename} is compressed "
                f"{ratio:,.0f}:1); it was not opened"
            )
    if total > _SMALL_MEMBER_BYTES and total / max(packed, 1) > max_ratio:
        raise IngestionError(
            f"{filename} looks like a zip bomb (compressed {total / max(packed, 1):,.0f}:1); "
            "it was not opened"
        )
    return members


def count_tags(path: Path, member: str, tags: tuple[bytes, ...]) -> int:
    """How many of `tags` (each starting with `<`, the only `<` in it) one member holds, counted
    while inflating it piece by piece, so a huge part is measured before anything parses it."""
    longest = max(len(tag) for tag in tags)
    count = 0
    carry = b""
    with zipfile.ZipFile(path) as archive:
        try:
            stream = archive.open(member)
        except KeyError:
            return 0
        with stream:
            while piece := stream.read(_SMALL_MEMBER_BYTES):
                data = carry + piece
                # Keep a possible tag start cut off by the piece's end for the next round.
                cut = data.rfind(b"<", max(len(data) - longest + 1, 0))
                cut = len(data) if cut == -1 else cut
                count += sum(data.count(tag, 0, cut) for tag in tags)
                carry = data[cut:]
    return count + sum(carry.count(tag) for tag in tags)
