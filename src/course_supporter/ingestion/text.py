"""Text materials: Markdown, plain text, HTML, DOCX and reStructuredText."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import docx
from docutils import nodes
from docutils.core import publish_doctree
from docx.document import Document as DocxDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.table import Table
from markdown_it import MarkdownIt
from markdown_it.token import Token

from course_supporter.config import Settings
from course_supporter.ingestion.archives import check_office_zip, count_tags
from course_supporter.ingestion.chunks import ChunkCollector
from course_supporter.ingestion.document import ChunkKind, Reference, SourceDocument
from course_supporter.ingestion.errors import IngestionError
from course_supporter.ingestion.html_text import html_blocks

# Markup may make a source file a few times larger than the text it holds.
_MARKUP_ALLOWANCE = 4
_BLANK_LINES = re.compile(r"\n\s*\n")
_DOCX_HEADING = re.compile(r"Heading (\d)")
_DOCX_PARAGRAPH_TAGS = (b"<w:p>", b"<w:p ", b"<w:p/>")


def read_text_file(path: Path, filename: str, max_chars: int) -> str:
    """Read a UTF-8 text file, refusing files too large to be within the text cap."""
    max_bytes = max_chars * _MARKUP_ALLOWANCE
    if path.stat().st_size > max_bytes:
        raise IngestionError(
            f"{filename} is larger than {max_bytes / 2**20:,.0f} MB of text; "
            "split it into smaller materials"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise IngestionError(
            f"{filename} is not UTF-8 text; save it as UTF-8 and upload again"
        ) from None
    if "\x00" in text:
        raise IngestionError(f"{filename} is a binary file, not text; check the file and its type")
    return text


def _document(
    source_type: str,
    filename: str,
    collector: ChunkCollector,
    title: str | None = None,
    **meta: Any,
) -> SourceDocument:
    return SourceDocument(
        source_type=source_type,
        title=title or collector.first_heading() or Path(filename).stem,
        chunks=collector.chunks,
        metadata={"filename": filename, "characters": collector.total_chars, **meta},
    )


class MarkdownProcessor:
    """Markdown via markdown-it-py: headings keep their level, blocks become paragraphs."""

    def __init__(self, settings: Settings) -> None:
        self.max_chars = settings.ingest_max_text_chars
        self.parser = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])

    def extract(self, path: Path, filename: str) -> SourceDocument:
        collector = ChunkCollector(self.max_chars, filename)
        heading_level: int | None = None
        row: list[str] | None = None
        for token in self.parser.parse(read_text_file(path, filename, self.max_chars)):
            if token.type == "heading_open":
                heading_level = int(token.tag[1:])
            elif token.type == "heading_close":
                heading_level = None
            elif token.type == "tr_open":
                row = []
            elif token.type == "tr_close" and row is not None:
                collector.add(ChunkKind.PARAGRAPH, " | ".join(row))
                row = None
            elif token.type in ("fence", "code_block"):
                collector.add(ChunkKind.PARAGRAPH, token.content)
            elif token.type == "inline":
                text = _inline_text(token)
                if heading_level is not None:
                    collector.add(ChunkKind.HEADING, text, Reference(heading_level=heading_level))
                elif row is not None:
                    row.append(text)
                else:
                    collector.add(ChunkKind.PARAGRAPH, text)
        return _document("text", filename, collector, format="markdown")


def _inline_text(token: Token) -> str:
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline", "image"):
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
    return "".join(parts)


class PlainTextProcessor:
    """Plain text: blank lines separate paragraphs."""

    def __init__(self, settings: Settings) -> None:
        self.max_chars = settings.ingest_max_text_chars

    def extract(self, path: Path, filename: str) -> SourceDocument:
        collector = ChunkCollector(self.max_chars, filename)
        for paragraph in _BLANK_LINES.split(read_text_file(path, filename, self.max_chars)):
            collector.add(ChunkKind.PARAGRAPH, paragraph)
        return _document("text", filename, collector, format="text")


class HtmlProcessor:
    """An uploaded HTML file: every heading and text block, minus scripts and navigation."""

    def __init__(self, settings: Settings) -> None:
        self.max_chars = settings.ingest_max_text_chars

    def extract(self, path: Path, filename: str) -> SourceDocument:
        collector = ChunkCollector(self.max_chars, filename)
        title, blocks = html_blocks(read_text_file(path, filename, self.max_chars))
        for block in blocks:
            if block.heading_level is None:
                collector.add(ChunkKind.PARAGRAPH, block.text)
            else:
                collector.add(
                    ChunkKind.HEADING, block.text, Reference(heading_level=block.heading_level)
                )
        return _document("text", filename, collector, title=title, format="html")


class DocxProcessor:
    """Word documents via python-docx; "Title" and "Heading N" paragraph styles become headings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def extract(self, path: Path, filename: str) -> SourceDocument:
        check_office_zip(path, filename, self.settings)
        max_paragraphs = self.settings.ingest_max_docx_paragraphs
        if count_tags(path, "word/document.xml", _DOCX_PARAGRAPH_TAGS) > max_paragraphs:
            raise _too_many_paragraphs(filename, max_paragraphs)
        try:
            document = docx.Document(str(path))
        except Exception:
            raise IngestionError(
                f"{filename} is not a readable Word document; save it again as .docx and re-upload"
            ) from None
        collector = ChunkCollector(self.settings.ingest_max_text_chars, filename)
        style_names, default_style = _paragraph_style_names(document)
        for count, block in enumerate(document.iter_inner_content(), start=1):
            if count > max_paragraphs:  # a main part under another name escapes the count above
                raise _too_many_paragraphs(filename, max_paragraphs)
            if isinstance(block, Table):
                for row in block.rows:
                    cells = dict.fromkeys(cell.text.strip() for cell in row.cells)
                    collector.add(ChunkKind.PARAGRAPH, " | ".join(c for c in cells if c))
                continue
            style_id = block._p.style  # the id: `block.style` scans every style
            level = _docx_heading_level(style_names.get(style_id or "", default_style))
            if level is None:
                collector.add(ChunkKind.PARAGRAPH, block.text)
            else:
                collector.add(ChunkKind.HEADING, block.text, Reference(heading_level=level))
        title = document.core_properties.title or None
        return _document("text", filename, collector, title=title, format="docx")


def _too_many_paragraphs(filename: str, limit: int) -> IngestionError:
    return IngestionError(
        f"{filename} has more than {limit:,} paragraphs; split it into smaller documents"
    )


def _paragraph_style_names(document: DocxDocument) -> tuple[dict[str, str], str]:
    """Paragraph style id → name, and the default style's name, read once for the document."""
    names = {
        style.style_id: style.name or ""
        for style in document.styles
        if style.type == WD_STYLE_TYPE.PARAGRAPH
    }
    default = document.styles.default(WD_STYLE_TYPE.PARAGRAPH)
    return names, (default.name or "") if default is not None else ""


def _docx_heading_level(style_name: str) -> int | None:
    if style_name == "Title":
        return 1
    match = _DOCX_HEADING.fullmatch(style_name)
    return int(match.group(1)) if match else None


class RstProcessor:
    """reStructuredText via docutils, with file inclusion and raw output disabled."""

    _SETTINGS = {
        "file_insertion_enabled": False,
        "raw_enabled": False,
        "_disable_config": True,
        "doctitle_xform": False,
        "sectsubtitle_xform": False,
        "report_level": 5,
        "halt_level": 5,
    }
    _SKIPPED = (nodes.system_message, nodes.comment, nodes.substitution_definition, nodes.target)
    _TEXT_BLOCKS = (nodes.paragraph, nodes.literal_block, nodes.line_block, nodes.doctest_block)

    def __init__(self, settings: Settings) -> None:
        self.max_chars = settings.ingest_max_text_chars

    def extract(self, path: Path, filename: str) -> SourceDocument:
        source = read_text_file(path, filename, self.max_chars)
        overrides = {**self._SETTINGS, "warning_stream": io.StringIO()}
        try:
            tree = publish_doctree(source, settings_overrides=overrides)
        except Exception:
            raise IngestionError(
                f"{filename} is not valid reStructuredText; check its markup"
            ) from None
        collector = ChunkCollector(self.max_chars, filename)
        self._walk(tree, 0, collector)
        return _document("text", filename, collector, format="rst")

    def _walk(self, node: nodes.Element, depth: int, collector: ChunkCollector) -> None:
        for child in node.children:
            if isinstance(child, nodes.section):
                self._walk(child, depth + 1, collector)
            elif isinstance(child, nodes.title):
                level = max(depth, 1)
                collector.add(ChunkKind.HEADING, child.astext(), Reference(heading_level=level))
            elif isinstance(child, self._TEXT_BLOCKS):
                collector.add(ChunkKind.PARAGRAPH, child.astext())
            elif isinstance(child, nodes.Element) and not isinstance(child, self._SKIPPED):
                self._walk(child, depth, collector)
