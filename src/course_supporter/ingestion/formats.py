"""Which file types each source type accepts, and a content check on an upload's first bytes."""

from __future__ import annotations

from pathlib import PurePath
from types import MappingProxyType

import filetype

from course_supporter.ingestion.errors import UnsupportedMaterialType

SOURCE_TYPES = ("video", "presentation", "text", "web")

TEXT_EXTENSIONS = frozenset({".md", ".markdown", ".txt", ".html", ".htm", ".rst"})
SUBTITLE_EXTENSIONS = frozenset({".vtt", ".srt"})
MEDIA_EXTENSIONS = frozenset(
    {".mp4", ".mkv", ".webm", ".mov", ".mp3", ".wav", ".m4a", ".ogg", ".flac"}
)
ZIP_EXTENSIONS = frozenset({".docx", ".pptx"})

ALLOWED_EXTENSIONS = MappingProxyType(
    {
        "text": TEXT_EXTENSIONS | {".docx", ".pdf"},
        "presentation": frozenset({".pdf", ".pptx"}),
        "video": SUBTITLE_EXTENSIONS | MEDIA_EXTENSIONS,
        "web": frozenset[str](),
    }
)

CONTENT_TYPES = MappingProxyType(
    {
        ".md": "text/markdown",
        ".markdown": "text/markdown",
        ".txt": "text/plain",
        ".html": "text/html",
        ".htm": "text/html",
        ".rst": "text/x-rst",
        ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ".pdf": "application/pdf",
        ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ".vtt": "text/vtt",
        ".srt": "application/x-subrip",
    }
)

_OFFICE_KINDS = frozenset({"docx", "pptx", "xlsx", "odt", "ods", "odp", "epub"})


def extension_of(filename: str) -> str:
    """The lower-cased extension of `filename`, with its dot ('' if none)."""
    return PurePath(filename).suffix.lower()


# The source type a file is given when the upload names none; a PDF is read as a deck
# by its layout whichever of the two types it is sent as.
_DETECTED_TYPES = MappingProxyType(
    {
        **dict.fromkeys(TEXT_EXTENSIONS | {".docx", ".pdf"}, "text"),
        ".pptx": "presentation",
        **dict.fromkeys(SUBTITLE_EXTENSIONS | MEDIA_EXTENSIONS, "video"),
    }
)


def accepted_types_text() -> str:
    """Which file types each source type takes, for error messages and the API description."""
    return "; ".join(
        f"{source_type}: {', '.join(sorted(extensions))}"
        for source_type, extensions in ALLOWED_EXTENSIONS.items()
        if extensions
    )


def detect_source_type(filename: str) -> str:
    """The source type of a file sent without one, from its extension (its content is checked
    against the extension afterwards); 415 for a file type no source type takes."""
    detected = _DETECTED_TYPES.get(extension_of(filename))
    if detected is None:
        raise UnsupportedMaterialType(
            f"{filename!r} is not a supported file type; accepted: {accepted_types_text()}", 415
        )
    return detected


def check_upload_extension(source_type: str, filename: str) -> str:
    """The file's extension; raises if `source_type` does not accept it (no content needed)."""
    if source_type not in ALLOWED_EXTENSIONS:
        raise UnsupportedMaterialType(
            f"Unknown source_type {source_type!r}; use one of: {', '.join(SOURCE_TYPES)}", 422
        )
    allowed = ALLOWED_EXTENSIONS[source_type]
    if not allowed:
        raise UnsupportedMaterialType(
            "Web materials are given as a source_url, not as an uploaded file", 422
        )
    extension = extension_of(filename)
    if extension not in allowed:
        raise UnsupportedMaterialType(
            f"{filename!r} is not accepted as {source_type}; "
            f"allowed file types: {', '.join(sorted(allowed))}",
            415,
        )
    return extension


def check_upload_type(source_type: str, filename: str, head: bytes) -> str:
    """Return the content type of an upload, or raise if it is not allowed or not what it claims."""
    extension = check_upload_extension(source_type, filename)
    if not head:
        raise UnsupportedMaterialType(f"{filename!r} is empty", 422)
    if extension in MEDIA_EXTENSIONS:
        return _check_media(filename, head)
    if extension == ".pdf":
        if b"%PDF-" not in head[:1024]:
            raise UnsupportedMaterialType(f"{filename!r} is not a PDF file", 422)
    elif extension in ZIP_EXTENSIONS:
        _check_office(filename, extension, head)
    else:
        _check_text(filename, extension, head)
    return CONTENT_TYPES[extension]


def _check_media(filename: str, head: bytes) -> str:
    kind = filetype.guess(head)
    mime = str(kind.mime) if kind is not None else ""
    if not mime.startswith(("audio/", "video/")):
        raise UnsupportedMaterialType(f"{filename!r} is not an audio or video file", 422)
    return mime


def _check_office(filename: str, extension: str, head: bytes) -> None:
    if not head.startswith(b"PK\x03\x04"):
        raise UnsupportedMaterialType(
            f"{filename!r} is not a {extension[1:].upper()} file (not a zip archive)", 422
        )
    kind = filetype.guess(head)
    if kind is not None and kind.extension in _OFFICE_KINDS and kind.extension != extension[1:]:
        raise UnsupportedMaterialType(
            f"{filename!r} is a .{kind.extension} file, not {extension}", 422
        )


def _check_text(filename: str, extension: str, head: bytes) -> None:
    if b"\x00" in head or filetype.guess(head) is not None:
        raise UnsupportedMaterialType(f"{filename!r} is a binary file, not {extension} text", 422)
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        # The head may cut a multi-byte character in two; only its last 3 bytes may be partial.
        if error.reason != "unexpected end of data" or error.start < len(head) - 3:
            raise UnsupportedMaterialType(
                f"{filename!r} is not UTF-8 text; save it as UTF-8 and upload again", 422
            ) from None
        text = head[: error.start].decode("utf-8")
    if extension == ".vtt" and not text.lstrip("\ufeff").startswith("WEBVTT"):
        raise UnsupportedMaterialType(f"{filename!r} is not a WebVTT file (no WEBVTT header)", 422)
