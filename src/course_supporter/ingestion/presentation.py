"""PDF documents and decks, PPTX decks slide by slide with speaker notes."""

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
from course_supporter.ingestion.document import (
    ChunkKind,
    DocumentMetadata,
    Reference,
    SourceDocument,
)
from course_supporter.ingestion.errors import IngestionError
from course_supporter.ingestion.pdf_layout import (
    add_document,
    add_slides,
    body_size,
    bookmark_sections,
    font_sections,
    is_slide_deck,
    read_pages,
    remove_running_lines,
    title_page_heading,
)
from course_supporter.ingestion.progress import (
    READING_SLIDES,
    ParseProgress,
    no_progress,
)

_TITLE_TYPES = frozenset({"title", "ctrTitle"})
# "Mitochondria (cont.)", "DNA - continued", "Results (2/3)": the same section goes on.
_CONTINUED = re.compile(
    r"\s*(?:\((?:cont(?:inued|'d|\.)?|\d+\s*(?:/|of)\s*\d+)\)|[-\u2013\u2014:]\s*cont(?:inued|'d|\.)?"
    r"|\d+\s*/\s*\d+)\s*$",
    re.IGNORECASE,
)
_PLACEHOLDER_PATH = f"{qn('p:nvPr')}/{qn('p:ph')}"
_SLIDE_PART = re.compile(r"ppt/slides/slide\d+\.xml")


class PdfProcessor:
    """PDF with pypdfium2 (PDFium: Apache-2.0 / BSD-3-Clause, a permissive licence).

    A PDF is a document cited by page: sections from its bookmarks (else from its type),
    page chrome dropped, paragraphs reflowed, back matter flagged. Only a deck exported to
    PDF (landscape, few words a page) is read as slides, cited by slide.
    """

    def __init__(self, settings: Settings) -> None:
        self.max_chars = settings.ingest_max_text_chars
        self.max_pages = settings.ingest_max_pdf_pages

    def extract(
        self, path: Path, filename: str, progress: ParseProgress = no_progress
    ) -> SourceDocument:
        pdf = _open_pdf(path, filename)
        try:
            if len(pdf) > self.max_pages:
                raise IngestionError(
                    f"{filename} has more than {self.max_pages:,} pages; "
                    "split it into smaller documents"
                )
            pages = read_pages(pdf, progress)
            if not any(page.lines for page in pages):
                raise IngestionError(
                    f"{filename} has no text layer (scanned or image-only pages); "
                    "upload a PDF exported with text, or run OCR on it first"
                )
            collector = ChunkCollector(self.max_chars, filename)
            metadata = DocumentMetadata(filename=filename, format="pdf")
            heading = None
            if is_slide_deck(pages):
                add_slides(collector, pages)
                source_type = "presentation"
                metadata.layout, metadata.slide_count = "slides", len(pages)
            else:
                heading = title_page_heading(pages, body_size(pages))
                removed = remove_running_lines(pages)
                sections = bookmark_sections(pdf, pages)
                metadata.outline = "bookmarks"
                if sections is None:
                    sections = font_sections(pages, body_size(pages))
                    metadata.outline = "fonts" if sections else "none"
                add_document(collector, pages, sections)
                source_type = "text"
                metadata.layout, metadata.page_count = "document", len(pages)
                metadata.running_lines_removed = removed
            title = str(pdf.get_metadata_dict().get("Title") or "").strip()
        except pypdfium2.PdfiumError:
            raise IngestionError(
                f"{filename} is damaged and its text could not be read; export it again"
            ) from None
        finally:
            pdf.close()
        metadata.characters = collector.total_chars
        return SourceDocument(
            source_type=source_type,
            title=title or heading or collector.first_heading() or Path(filename).stem,
            chunks=collector.chunks,
            metadata=metadata,
        )


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
    """PowerPoint decks via python-pptx: body text and speaker notes per slide; a HEADING opens
    each section: a titled slide, unless it repeats the title before it ("… (cont.)"), at
    level 2 under the deck's "Section Header" slides (level 1), at level 1 when there are none."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def extract(
        self, path: Path, filename: str, progress: ParseProgress = no_progress
    ) -> SourceDocument:
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
        deck_title: str | None = None
        has_sections = any(_is_section_header(slide) for slide in deck.slides)
        current: str | None = None
        total = len(deck.slides)
        for number, slide in enumerate(deck.slides, start=1):
            if number > max_slides:  # slide parts under other names escape the count above
                raise _too_many_slides(filename, max_slides)
            slides = number
            title, kind, body = "", None, list[str]()
            for shape in slide.shapes:
                kind = _placeholder_type(shape) if not title else None
                if kind in _TITLE_TYPES and shape.has_text_frame:
                    title = " ".join(shape.text_frame.text.split())
                    if kind == "ctrTitle" and deck_title is None:
                        deck_title = title
                else:
                    body.extend(_shape_texts(shape))
            if title and title != deck_title:
                section = _is_section_header(slide)
                level = 1 if section or not has_sections else 2
                base = _CONTINUED.sub("", title).casefold()
                if section or base != current:
                    ref = Reference(slide=number, heading_level=level)
                    collector.add(ChunkKind.HEADING, title, ref)
                current = base
            collector.add(ChunkKind.SLIDE_TEXT, "\n".join(body), Reference(slide=number))
            collector.add(ChunkKind.SPEAKER_NOTES, _notes_text(slide), Reference(slide=number))
            progress(number, total, READING_SLIDES)
        return SourceDocument(
            source_type="presentation",
            title=deck.core_properties.title or deck_title or collector.first_heading()
            or Path(filename).stem,
            chunks=collector.chunks,
            metadata=DocumentMetadata(filename=filename, format="pptx", slide_count=slides,
                                      characters=collector.total_chars),
        )  # fmt: skip


def _is_section_header(slide: Any) -> bool:
    """A divider slide opening a part of the deck (PowerPoint's "Section Header" layout)."""
    return "section" in str(slide.slide_layout.name or "").casefold()


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
