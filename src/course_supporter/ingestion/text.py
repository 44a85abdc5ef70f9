"""Text materials: Markdown, plain text, HTML, DOCX and reStructuredText."""

from __future__ import annotations

import io
import re
import tomllib
from pathlib import Path
from typing import Any

import docx
import yaml
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
from course_supporter.ingestion.document import (
    Chunk,
    ChunkKind,
    DocumentMetadata,
    Reference,
    SourceDocument,
)
from course_supporter.ingestion.errors import IngestionError
from course_supporter.ingestion.html_text import main_content
from course_supporter.ingestion.progress import (
    READING_PARAGRAPHS,
    READING_SECTIONS,
    ParseProgress,
    no_progress,
)

# Markup may make a source file a few times larger than the text it holds.
_MARKUP_ALLOWANCE = 4
_BLANK_LINES = re.compile(r"\n\s*\n")
_DOCX_HEADING = re.compile(r"Heading (\d)")
_FRONT_MATTER = re.compile(
    r"\A(?P<fence>---|\+\+\+)[ \t]*\r?\n(?P<body>.*?)\r?\n(?P=fence)[ \t]*(?:\r?\n|\Z)", re.DOTALL
)
_FRONT_MATTER_KEY = re.compile(r"\A[ \t]*[\w-]+[ \t]*[:=]")
_DOCX_PARAGRAPH_TAGS = (b"<w:p>", b"<w:p ", b"<w:p/>")
# A paragraph is read in microseconds: report every so many, not each one.
_DOCX_PROGRESS_EVERY = 100


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
        metadata=DocumentMetadata(filename=filename, characters=collector.total_chars, **meta),
    )


class MarkdownProcessor:
    """Markdown via markdown-it-py: front matter as metadata, headings, text, code verbatim."""

    def __init__(self, settings: Settings) -> None:
        self.max_chars = settings.ingest_max_text_chars
        self.parser = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])

    def extract(
        self, path: Path, filename: str, progress: ParseProgress = no_progress
    ) -> SourceDocument:
        front, source = split_front_matter(read_text_file(path, filename, self.max_chars), filename)
        collector = ChunkCollector(self.max_chars, filename)
        heading_level: int | None = None
        row: list[str] | None = None
        tokens = self.parser.parse(source)
        sections = sum(1 for token in tokens if token.type == "heading_open")
        read = 0
        for token in tokens:
            if token.type == "heading_open":
                progress(read, sections, READING_SECTIONS)
                read += 1
                heading_level = int(token.tag[1:])
            elif token.type == "heading_close":
                heading_level = None
            elif token.type == "tr_open":
                row = []
            elif token.type == "tr_close" and row is not None:
                collector.add(ChunkKind.PARAGRAPH, " | ".join(row))
                row = None
            elif token.type in ("fence", "code_block"):
                collector.add(ChunkKind.CODE, token.content)
            elif token.type == "inline":
                text = _inline_text(token)
                if heading_level is not None:
                    collector.add(ChunkKind.HEADING, text, Reference(heading_level=heading_level))
                elif row is not None:
                    row.append(text)
                else:
                    collector.add(ChunkKind.PARAGRAPH, text, emphasis=_inline_emphasis(token))
        if sections:
            progress(sections, sections, READING_SECTIONS)
        return _outlined_document(collector, front, filename, format="markdown")


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


def _inline_emphasis(token: Token) -> list[str]:
    """Bold spans and inline code: the terms an author marks."""
    terms: list[str] = []
    bold: list[str] | None = None
    for child in token.children or []:
        if child.type == "strong_open":
            bold = []
        elif child.type == "strong_close" and bold is not None:
            terms.append("".join(bold))
            bold = None
        elif child.type == "code_inline":
            terms.append(child.content)
        if bold is not None and child.type in ("text", "code_inline"):
            bold.append(child.content)
    return terms


def split_front_matter(text: str, filename: str) -> tuple[dict[str, Any], str]:
    """Split YAML (---) or TOML (+++) front matter from the text; ({}, text) when there is none."""
    text = text.lstrip("\ufeff")
    match = _FRONT_MATTER.match(text)
    if match is None:
        return {}, text
    fence, raw = match.group("fence"), match.group("body")
    try:
        parsed = tomllib.loads(raw) if fence == "+++" else yaml.safe_load(raw)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as error:
        if fence == "---" and not _FRONT_MATTER_KEY.match(raw):
            return {}, text  # a thematic break, not front matter
        raise IngestionError(
            f"{filename} starts with front matter that is not valid "
            f"{'TOML' if fence == '+++' else 'YAML'}: {str(error).splitlines()[0]}"
        ) from None
    if not isinstance(parsed, dict):
        return {}, text
    return parsed, text[match.end() :]


def _outlined_document(
    collector: ChunkCollector, front: dict[str, Any], filename: str, **meta: Any
) -> SourceDocument:
    """Heading levels made relative to the top heading, under the front matter's title if any."""
    headings = [c for c in collector.chunks if c.kind is ChunkKind.HEADING]
    top = min((c.ref.heading_level or 1 for c in headings), default=1)
    title = front.get("title")
    title = " ".join(str(title).split()) if isinstance(title, str | int | float) else None
    shift = 1 - top
    if title and not (headings and collector.chunks[0] is headings[0]
                      and headings[0].text.casefold() == title.casefold()):  # fmt: skip
        shift += 1
        collector.chunks.insert(
            0, Chunk(kind=ChunkKind.HEADING, text=title, ref=Reference(heading_level=1))
        )
        collector.total_chars += len(title)
    for chunk in headings:
        chunk.ref.heading_level = (chunk.ref.heading_level or 1) + shift
    scalars = {
        key: value
        for key, value in front.items()
        if isinstance(key, str) and isinstance(value, str | int | float | bool)
    }
    return _document("text", filename, collector, title=title, front_matter=scalars or None, **meta)


class PlainTextProcessor:
    """Plain text: blank lines separate paragraphs."""

    def __init__(self, settings: Settings) -> None:
        self.max_chars = settings.ingest_max_text_chars

    def extract(
        self, path: Path, filename: str, progress: ParseProgress = no_progress
    ) -> SourceDocument:
        collector = ChunkCollector(self.max_chars, filename)
        for paragraph in _BLANK_LINES.split(read_text_file(path, filename, self.max_chars)):
            collector.add(ChunkKind.PARAGRAPH, paragraph)
        return _document("text", filename, collector, format="text")


class HtmlProcessor:
    """An uploaded HTML file, through the same main-content path as a fetched web page."""

    def __init__(self, settings: Settings) -> None:
        self.max_chars = settings.ingest_max_text_chars

    def extract(
        self, path: Path, filename: str, progress: ParseProgress = no_progress
    ) -> SourceDocument:
        collector = ChunkCollector(self.max_chars, filename)
        content = main_content(read_text_file(path, filename, self.max_chars), filename)
        content.add_to(collector, ChunkKind.PARAGRAPH, url=None)
        return _document("text", filename, collector, title=content.title, format="html")


class DocxProcessor:
    """Word documents via python-docx; "Title" and "Heading N" paragraph styles become headings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def extract(
        self, path: Path, filename: str, progress: ParseProgress = no_progress
    ) -> SourceDocument:
        check_office_zip(path, filename, self.settings)
        max_paragraphs = self.settings.ingest_max_docx_paragraphs
        paragraphs = count_tags(path, "word/document.xml", _DOCX_PARAGRAPH_TAGS)
        if paragraphs > max_paragraphs:
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
            if count % _DOCX_PROGRESS_EVERY == 0:
                progress(count, max(count, paragraphs), READING_PARAGRAPHS)
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
    _SKIPPED = (
        nodes.system_message, nodes.comment, nodes.substitution_definition, nodes.target,
        nodes.docinfo,
    )  # fmt: skip
    _TEXT_BLOCKS = (nodes.paragraph, nodes.line_block)

    def __init__(self, settings: Settings) -> None:
        self.max_chars = settings.ingest_max_text_chars

    def extract(
        self, path: Path, filename: str, progress: ParseProgress = no_progress
    ) -> SourceDocument:
        front, source = split_front_matter(read_text_file(path, filename, self.max_chars), filename)
        overrides = {**self._SETTINGS, "warning_stream": io.StringIO()}
        try:
            tree = publish_doctree(source, settings_overrides=overrides)
        except Exception:
            raise IngestionError(
                f"{filename} is not valid reStructuredText; check its markup"
            ) from None
        for docinfo in tree.findall(nodes.docinfo):
            front = {**_docinfo_fields(docinfo), **front}
        collector = ChunkCollector(self.max_chars, filename)
        self._walk(tree, 0, collector)
        return _outlined_document(collector, front, filename, format="rst")

    def _walk(self, node: nodes.Element, depth: int, collector: ChunkCollector) -> None:
        for child in node.children:
            if isinstance(child, nodes.section):
                self._walk(child, depth + 1, collector)
            elif isinstance(child, nodes.title):
                level = max(depth, 1)
                collector.add(ChunkKind.HEADING, child.astext(), Reference(heading_level=level))
            elif isinstance(child, nodes.literal_block | nodes.doctest_block):
                collector.add(ChunkKind.CODE, child.astext())
            elif isinstance(child, self._TEXT_BLOCKS):
                terms = [n.astext() for n in child.findall(_is_marked)]
                collector.add(ChunkKind.PARAGRAPH, child.astext(), emphasis=terms)
            elif isinstance(child, nodes.Element) and not isinstance(child, self._SKIPPED):
                self._walk(child, depth, collector)


def _is_marked(node: nodes.Node) -> bool:
    return isinstance(node, nodes.strong | nodes.literal)


def _docinfo_fields(docinfo: nodes.docinfo) -> dict[str, Any]:
    """The bibliographic fields (:title:, :author: …) at the top of an RST file."""
    fields: dict[str, Any] = {}
    for child in docinfo.children:
        if isinstance(child, nodes.field) and len(child.children) == 2:
            fields[child.children[0].astext().strip().lower()] = child.children[1].astext().strip()
        elif isinstance(child, nodes.Element):
            fields[child.tagname] = child.astext().strip()
    return fields
