"""One entry point: a stored file or a URL of a given source type → SourceDocument."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol

from course_supporter.config import Settings
from course_supporter.ingestion.confined import ChildLimits, run_confined
from course_supporter.ingestion.document import SourceDocument
from course_supporter.ingestion.errors import IngestionError
from course_supporter.ingestion.formats import ALLOWED_EXTENSIONS, MEDIA_EXTENSIONS, extension_of
from course_supporter.ingestion.presentation import PdfProcessor, PptxProcessor
from course_supporter.ingestion.progress import ParseProgress, no_progress
from course_supporter.ingestion.subtitles import SubtitleProcessor
from course_supporter.ingestion.text import (
    DocxProcessor,
    HtmlProcessor,
    MarkdownProcessor,
    PlainTextProcessor,
    RstProcessor,
)
from course_supporter.ingestion.video import MediaProcessor, VideoPageProcessor
from course_supporter.ingestion.web import WebPageProcessor


class FileProcessor(Protocol):
    """A blocking parser of one file format (run in a child process)."""

    def __init__(self, settings: Settings) -> None: ...

    def extract(
        self, path: Path, filename: str, progress: ParseProgress = no_progress
    ) -> SourceDocument: ...


FILE_PROCESSORS: dict[str, type[FileProcessor]] = {
    ".md": MarkdownProcessor,
    ".markdown": MarkdownProcessor,
    ".txt": PlainTextProcessor,
    ".html": HtmlProcessor,
    ".htm": HtmlProcessor,
    ".docx": DocxProcessor,
    ".rst": RstProcessor,
    ".pdf": PdfProcessor,
    ".pptx": PptxProcessor,
    ".vtt": SubtitleProcessor,
    ".srt": SubtitleProcessor,
}


async def extract_document(
    source_type: str,
    *,
    path: Path | None,
    url: str | None,
    filename: str,
    settings: Settings,
    progress: ParseProgress | None = None,
) -> SourceDocument:
    """Extract a material into a SourceDocument, or raise IngestionError saying what to fix.

    `progress` hears of each page, slide, paragraph, section or transcribed segment read, from
    another thread (it must be thread-safe), for the formats that have such units.
    """
    if source_type not in ALLOWED_EXTENSIONS:
        raise IngestionError(f"Unknown source type {source_type!r}")
    if url is not None and path is None:
        return await _extract_url(source_type, url, settings, progress or no_progress)
    if path is None or url is not None:
        raise IngestionError("Give either a stored file or a URL for a material, not both")
    return await _extract_file(source_type, path, filename, settings, progress)


async def _extract_url(
    source_type: str, url: str, settings: Settings, progress: ParseProgress
) -> SourceDocument:
    if source_type == "web":
        return await WebPageProcessor(settings).extract(url)
    if source_type == "video":
        return await VideoPageProcessor(settings).extract(url, progress)
    raise IngestionError(f"{source_type} materials are uploaded as files, not given as URLs")


async def _extract_file(
    source_type: str,
    path: Path,
    filename: str,
    settings: Settings,
    progress: ParseProgress | None,
) -> SourceDocument:
    extension = extension_of(filename)
    if extension not in ALLOWED_EXTENSIONS[source_type]:
        raise IngestionError(f"{filename} is not an accepted {source_type} file")
    try:
        size = (await asyncio.to_thread(path.stat)).st_size
    except FileNotFoundError:
        raise IngestionError(
            f"The stored file for {filename} is missing; upload it again"
        ) from None
    if size == 0:
        raise IngestionError(f"{filename} is empty; upload a file with content")
    if extension in MEDIA_EXTENSIONS:
        document = await MediaProcessor(settings).extract(path, filename, progress or no_progress)
    else:
        document = await run_confined(
            parse_file, extension, path, filename, settings,
            limits=ChildLimits(
                cpu_seconds=settings.ingest_extract_cpu_seconds,
                memory_bytes=settings.ingest_extract_memory_bytes,
                wall_seconds=settings.ingest_extract_timeout_seconds,
            ),
            label=filename,
            on_progress=progress,
        )  # fmt: skip
    if not document.chunks:
        raise IngestionError(
            f"No text could be extracted from {filename}; if it holds only images or scans, "
            "upload a version with real text"
        )
    return document


def parse_file(
    extension: str,
    path: Path,
    filename: str,
    settings: Settings,
    progress: ParseProgress = no_progress,
) -> SourceDocument:
    """Parse a stored file with the processor of its format (in the confined child)."""
    return FILE_PROCESSORS[extension](settings).extract(path, filename, progress)
