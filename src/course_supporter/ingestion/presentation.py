"""Presentations: PDF decks page by page, PPTX decks slide by slide with speaker notes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pypdfium2
from pptx import Presentation
from pptx.oxml.ns import qn
from pptx.shapes.group import GroupShape

from course_supporter.config import Settings
from course_supporter.ingestion.archives import check_office_zip
from course_supporter.ingestion.chunks import ChunkCollector
from course_supporter.ingestion.document import ChunkKind, Reference, SourceDocument
from course_supporter.ingestion.errors import IngestionError

_TITLE_TYPES = frozenset({"title", "ctrTitle"})
_PLACEHOLDER_PATH = f"{qn('p:nvPr')}/{qn('p:ph')}"
_SLIDE_PART = re.compile(r"ppt/slides/slide\d+\.xml")


class PdfProcessor:
    """PDF text per page with pypdfium2 (PDFium: Apache-2.0 / BSD-3-Clause, a permissive licence).

    Each page of a presentation PDF is one slide, so its chunk carries both `page` and `slide`.
    """

    def __init__(self, settings: Settings) -> None:
        self.max_chars = settings.ingest_max_text_chars
        self.max_pages = settings.ingest_max_pdf_pages

    def extract(self, path: Path, filename: str) -> SourceDocument:
        pdf = _open_pdf(path, filename)
        try:
            if len(pdf) > self.max_pages:
                raise IngestionError(
                    f"{filename} has more than {self.max_pages:,} pages; "
                    "split it into smaller documents"
                )
            collector = ChunkCollector(self.max_chars, filename)
            for index in range(len(pdf)):
                page = pdf[index]
                textpage = page.get_textpage()
                try:
                    text = textpage.get_text_range()
                finally:
                    textpage.close()
                    page.close()
                number = index + 1
                collector.add(ChunkKind.SLIDE_TEXT, text, Reference(page=number, slide=number))
            title = str(pdf.get_metadata_dict().get("Title") or "").strip()
            pages = len(pdf)
        except pypdfium2.PdfiumError:
            raise IngestionError(
                f"{filename} is damaged and its text could not be read; export it again"
            ) from None
        finally:
            pdf.close()
        if not collector.chunks:
            raise IngestionError(
                f"{filename} has no text layer (scanned or image-only pages); "
                "upload a PDF exported with text, or run OCR on it first"
            )
        return SourceDocument(
            source_type="presentation",
            title=title or Path(filename).stem,
            chunks=collector.chunks,
            metadata={"filename": filename, "format": "pdf", "pages": pages,
                      "characters": collector.total_chars},
        )  # fmt: skip


def _open_pdf(path: Path, filename: str) -> pypdfium2.PdfDocument:
    try:
        return pypdfium2.PdfDocument(path)
    except pypdfium2.PdfiumError as error:
        if error.err_code == pypdfium2.raw.FPDF_ERR_PASSWORD:
            raise IngestionError(
                f"{filename} is encrypted (password protected); upload an unencrypted copy"
            ) from None
        raise IngestionError(
            f"{filename} is not a readable PDF (the file is damaged); export it again and re-upload"
        ) from None


class PptxProcessor:
    """PowerPoint decks via python-pptx: slide title, body text and speaker notes per slide."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def extract(self, path: Path, filename: str) -> SourceDocument:
        members = check_office_zip(path, filename, self.settings)
        max_slides = self.settings.ingest_max_pptx_slides
        if sum(1 for member in members if _SLIDE_PART.fullmatch(member.filename)) > max_slides:
            raise _too_many_slides(filename, max_slides)
        try:
            deck = Presentation(str(path))
        except Exception:
            raise IngestionError(
                f"{filename} is not a readable PowerPoint file; save it again as .pptx"
            ) from None
        collector = ChunkCollector(self.settings.ingest_max_text_chars, filename)
        slides = 0
        for number, slide in enumerate(deck.slides, start=1):
            if number > max_slides:  # slide parts under other names escape the count above
                raise _too_many_slides(filename, max_slides)
            slides = number
            title, body = "", list[str]()
            for shape in slide.shapes:
                if not title and _placeholder_type(shape) in _TITLE_TYPES and shape.has_text_frame:
                    title = shape.text_frame.text
                else:
                    body.extend(_shape_texts(shape))
            collector.add(ChunkKind.HEADING, title, Reference(slide=number, heading_level=1))
            collector.add(ChunkKind.SLIDE_TEXT, "\n".join(body), Reference(slide=number))
            collector.add(ChunkKind.SPEAKER_NOTES, _notes_text(slide), Reference(slide=number))
        return SourceDocument(
            source_type="presentation",
            title=deck.core_properties.title or collector.first_heading() or Path(filename).stem,
            chunks=collector.chunks,
            metadata={"filename": filename, "format": "pptx", "slides": slides,
                      "characters": collector.total_chars},
        )  # fmt: skip


def _too_many_slides(filename: str, limit: int) -> IngestionError:
    return IngestionError(f"{filename} has more than {limit:,} slides; split the deck")


def _placeholder_type(shape: Any) -> str | None:
    """The placeholder type ("title", "body" …) read straight from the XML; None for others."""
    properties = shape.element[0] if len(shape.element) else None
    placeholder = properties.find(_PLACEHOLDER_PATH) if properties is not None else None
    return None if placeholder is None else str(placeholder.get("type", "obj"))


def _notes_text(slide: Any) -> str:
    if not slide.has_notes_slide:
        return ""
    for shape in slide.notes_slide.shapes:
        if _placeholder_type(shape) == "body" and shape.has_text_frame:
            return str(shape.text_frame.text)
    return ""


def _shape_texts(shape: Any) -> Iterator[str]:
    """Text of a shape, of a table's rows, or of a group's members, in document order."""
    if isinstance(shape, GroupShape):
        for member in shape.shapes:
            yield from _shape_texts(member)
    elif shape.has_text_frame:
        yield shape.text_frame.text
    elif getattr(shape, "has_table", False):
        for row in shape.table.rows:
            yield " | ".join(cell.text for cell in row.cells if cell.text.strip())
