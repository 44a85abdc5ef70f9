"""A PDF's layout read back into an outline: sections, paragraphs, code; page chrome dropped."""

from __future__ import annotations

import ctypes
import itertools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pypdfium2
import pypdfium2.raw as pdfium_c
from rapidfuzz import fuzz

from course_supporter.ingestion.chunks import ChunkCollector
from course_supporter.ingestion.document import Chunk, ChunkKind, Reference
from course_supporter.ingestion.progress import READING_PAGES, ParseProgress, no_progress

_MONO_FONT = re.compile(r"mono|courier|cmtt|typewriter|consol|menlo|inconsolata|sftt|code", re.I)
_BOLD_FONT = re.compile(r"bold|cmbx|black|heavy|semibold|demi|-bd\b|,bd\b", re.I)
_PAGE_NUMBER = re.compile(r"(?:page\s+)?(?:\d{1,4}|[ivxlcdm]{1,7})(?:\s*(?:/|of)\s*\d{1,4})?", re.I)
_DOT_LEADER = re.compile(r"(?:\.\s?){3,}\s*\d{1,4}\s*$|\s\d{1,4}$")
_BULLET = re.compile(r"^(?:[•◦▪‣∙·\-\u2013\u2014*]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s")
_BACK_MATTER_TITLE = re.compile(
    r"\b(?:licen[cs]e|copying|copyright|colophon|index|table of contents|contents"
    r"|gnu free documentation|permissions|legal notice)\b",
    re.I,
)
_COPYRIGHT_PAGE = re.compile(
    r"copyright\s*(?:©|\(c\))|©\s*\d{4}|permission is granted to copy|all rights reserved", re.I
)
_NUMBERING = re.compile(
    r"^(?:(?:chapter|appendix|part|section)\s+)?(?:\d+|[A-Z])(?:\.\d+)*\.?:?\s+(?=\S)", re.I
)
_SOFT_HYPHENS = ("\ufffe", "\u00ad")
_SENTENCE_END = (".", "!", "?", ":", ";")
# A deck exported to PDF: landscape pages holding few words each.
_SLIDE_MAX_WORDS = 90
# Lines at least this much larger than the body text are headings.
_HEADING_SIZE_RATIO = 1.15
_HEADING_MAX_WORDS = 14
# A header or footer line counts as running once it recurs on this many pages.
_RUNNING_MIN_PAGES = 3


@dataclass
class Line:
    """One text line of a page, with the font and position of its first letters."""

    text: str
    size: float = 0.0
    bold: bool = False
    mono: bool = False
    top: float = 0.0
    bottom: float = 0.0
    right: float = 0.0
    last_bottom: float = 0.0
    """Baseline of the last letter: PDFium may join a hyphenated pair of lines into one."""


@dataclass
class Page:
    number: int
    width: float
    height: float
    lines: list[Line] = field(default_factory=list)

    @property
    def words(self) -> int:
        return sum(len(line.text.split()) for line in self.lines)


@dataclass(frozen=True)
class Section:
    """One outline entry: a title with its level, opening at a page (and line, when found)."""

    title: str
    level: int
    page: int
    line: int | None = None


def read_pages(pdf: pypdfium2.PdfDocument, progress: ParseProgress = no_progress) -> list[Page]:
    """Every page's lines with their font size, weight, monospacing and vertical position;
    `progress` hears of each page read."""
    pages: list[Page] = []
    total = len(pdf)
    for index in range(total):
        page = pdf[index]
        textpage = page.get_textpage()
        try:
            width, height = page.get_size()
            pages.append(Page(index + 1, width, height, list(_page_lines(textpage))))
        finally:
            textpage.close()
            page.close()
        progress(index + 1, total, READING_PAGES)
    return pages


def _page_lines(textpage: pypdfium2.PdfTextPage) -> Iterable[Line]:
    text = textpage.get_text_range()
    aligned = len(text) == textpage.count_chars()
    name = ctypes.create_string_buffer(128)
    flags = ctypes.c_int()
    start = 0
    for raw_line in text.split("\n"):
        end = start + len(raw_line)
        line = raw_line.rstrip("\r")
        stripped = line.strip()
        if stripped:
            result = Line(" ".join(stripped.split()))
            letters = [i for i in range(start, start + len(line)) if text[i].isalnum()]
            if aligned and letters:
                first = letters[min(1, len(letters) - 1)]
                fonts = [_font(textpage, letters[k * (len(letters) - 1) // 4], name, flags)
                         for k in range(5)]  # fmt: skip
                weight = pdfium_c.FPDFText_GetFontWeight(textpage.raw, first)
                result.size = round(pdfium_c.FPDFText_GetFontSize(textpage.raw, first), 1)
                result.bold = weight >= 600 or bool(_BOLD_FONT.search(fonts[0][0]))
                result.mono = all(mono for _, mono in fonts)
                _, bottom, _, top = textpage.get_charbox(first)
                result.top, result.bottom = top, bottom
                _, result.last_bottom, result.right, _ = textpage.get_charbox(letters[-1])
            yield result
        start = end + 1


def _font(
    textpage: pypdfium2.PdfTextPage,
    index: int,
    name: ctypes.Array[ctypes.c_char],
    flags: ctypes.c_int,
) -> tuple[str, bool]:
    """The font name of one character and whether it is monospaced."""
    pdfium_c.FPDFText_GetFontInfo(textpage.raw, index, name, len(name), ctypes.byref(flags))
    font = name.value.decode("latin-1", "replace")
    return font, bool(flags.value & 1) or bool(_MONO_FONT.search(font))


def is_slide_deck(pages: Sequence[Page]) -> bool:
    """A deck exported to PDF: mostly landscape pages with few words a page."""
    if not pages:
        return False
    landscape = sum(1 for p in pages if p.width > p.height * 1.1)
    words = sum(p.words for p in pages) / len(pages)
    return landscape >= 0.8 * len(pages) and words <= _SLIDE_MAX_WORDS


def remove_running_lines(pages: Sequence[Page]) -> int:
    """Drop page numbers and headers/footers that recur across pages; returns how many.

    A running line recurs as it is ("Shared MIME-info Database") or by its shape: a page
    number at one end and the same first word ("Chapter 2: Syntax 3", "Chapter 4: … 12").
    """
    counts: Counter[str] = Counter()
    for page in pages:
        for line in _edge_lines(page):
            counts.update(set(_running_keys(line.text)))
    removed = 0
    for page in pages:
        edges = {id(line) for line in _edge_lines(page)}
        kept = []
        for line in page.lines:
            running = len(pages) >= _RUNNING_MIN_PAGES and any(
                counts[key] >= _RUNNING_MIN_PAGES for key in _running_keys(line.text)
            )
            if id(line) in edges and (_PAGE_NUMBER.fullmatch(line.text) or running):
                removed += 1
            else:
                kept.append(line)
        page.lines = kept
    return removed


def _edge_lines(page: Page) -> list[Line]:
    """The first two and last two lines: where running headers, footers and numbers sit."""
    lines = page.lines
    return lines[:2] + lines[max(2, len(lines) - 2) :]


def _running_keys(text: str) -> list[str]:
    keys = [re.sub(r"\d+", "#", text.casefold()).strip()]
    words = text.casefold().split()
    if len(words) >= 2 and (words[0].isdigit() or words[-1].isdigit()):
        first = words[1] if words[0].isdigit() else words[0]
        keys.append(f"{re.sub(r'[0-9]+', '#', first)} … page number")
    return keys


def body_size(pages: Sequence[Page]) -> float:
    """The font size most of the text is set in."""
    sizes: Counter[float] = Counter()
    for page in pages:
        for line in page.lines:
            if line.size:
                sizes[line.size] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def bookmark_sections(pdf: pypdfium2.PdfDocument, pages: Sequence[Page]) -> list[Section] | None:
    """Sections from the bookmark outline; None when there is none or it does not hold up."""
    try:
        marks = [(m.level, " ".join(m.get_title().split()), m.get_dest()) for m in pdf.get_toc()]
    except (pypdfium2.PdfiumError, ValueError, OSError):
        return None
    if not marks:
        return None
    sections: list[Section] = []
    for level, title, dest in marks:
        index = dest.get_index() if dest is not None else None
        if title and index is not None and 0 <= index < len(pages):
            sections.append(Section(title, level + 1, index + 1))
    backwards = sum(1 for a, b in itertools.pairwise(sections) if b.page < a.page)
    distinct_pages = len({s.page for s in sections})
    if (
        len(sections) < max(2, len(marks) // 2)
        or backwards > len(sections) // 5
        or (distinct_pages == 1 and len(pages) > 3)
    ):
        return None
    return [_placed(section, pages[section.page - 1]) for section in sections]


def _placed(section: Section, page: Page) -> Section:
    """The section with the line of its page that prints its title, if one does."""
    wanted = _title_key(section.title)
    for index, line in enumerate(page.lines):
        key = _title_key(line.text)
        if key and (key == wanted or (len(key) > 3 and fuzz.ratio(key, wanted) >= 88)):
            return Section(section.title, section.level, section.page, index)
    return section


def _title_key(text: str) -> str:
    """Casefolded words of a title without its numbering ("2.1", "A.1", "Chapter 3:")."""
    text = _NUMBERING.sub("", " ".join(text.split()))
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def font_sections(pages: Sequence[Page], body: float) -> list[Section]:
    """Headings from the type: larger lines by size, then short bold lines standing alone."""
    candidates: list[tuple[int, int, Line]] = []
    for page in pages:
        for index, line in enumerate(page.lines):
            if not body or not line.size or line.mono or _PAGE_NUMBER.fullmatch(line.text):
                continue
            if len(line.text.split()) > _HEADING_MAX_WORDS:
                continue
            larger = line.size >= body * _HEADING_SIZE_RATIO
            bold_alone = line.bold and line.size >= body and not line.text.endswith(_SENTENCE_END)
            if larger or bold_alone:
                candidates.append((page.number, index, line))
    # Type used only on the first page is the title page's, not a section's.
    inner_sizes = {line.size for number, _, line in candidates if number > 1}
    if len(pages) > 1:
        candidates = [c for c in candidates if c[2].size in inner_sizes]
    if not candidates or len(candidates) > sum(len(p.lines) for p in pages) / 3:
        return []
    larger_sizes = sorted(
        {line.size for _, _, line in candidates if line.size >= body * _HEADING_SIZE_RATIO},
        reverse=True,
    )[:3]
    sections: list[Section] = []
    previous: tuple[int, int, float] | None = None
    for number, index, line in candidates:
        level = next((i + 1 for i, s in enumerate(larger_sizes) if line.size >= s), None)
        if level is None:
            level = len(larger_sizes) + 1 if line.size < body * _HEADING_SIZE_RATIO else 3
        if previous == (number, index - 1, line.size):  # a title wrapped over two lines
            last = sections.pop()
            sections.append(Section(f"{last.title} {line.text}", last.level, number, last.line))
        else:
            sections.append(Section(line.text, level, number, index))
        previous = (number, index, line.size)
    return sections


@dataclass
class _Block:
    kind: ChunkKind
    page: int
    back_matter: bool
    lines: list[str] = field(default_factory=list)
    last_page: int = 0


def add_document(
    collector: ChunkCollector, pages: Sequence[Page], sections: Sequence[Section]
) -> None:
    """Emit headings, reflowed paragraphs and code in page order; back matter flagged."""
    openings: dict[tuple[int, int], list[Section]] = {}
    for section in sections:
        openings.setdefault((section.page, section.line or 0), []).append(section)
    heading_lines = _heading_line_spans(sections, pages)
    back_level: int | None = None
    before_first = bool(sections)
    block: _Block | None = None
    previous: Line | None = None
    for page in pages:
        front = _front_page(page, before_first)
        margin = max((line.right for line in page.lines), default=0.0)
        first = page.lines[0] if page.lines else None
        if not (block and previous and first and _continues(block, previous, first)):
            _flush(collector, block)
            block, previous = None, None
        for index in range(max(len(page.lines), 1)):
            for section in openings.get((page.number, index), []):
                _flush(collector, block)
                block, previous, before_first, front = None, None, False, False
                if back_level is not None and section.level <= back_level:
                    back_level = None
                if back_level is None and _BACK_MATTER_TITLE.search(section.title):
                    back_level = section.level
                ref = Reference(page=page.number, heading_level=section.level)
                collector.add(
                    ChunkKind.HEADING, section.title, ref, back_matter=back_level is not None
                )
            if index >= len(page.lines) or (page.number, index) in heading_lines:
                continue
            line = page.lines[index]
            kind = ChunkKind.CODE if line.mono else ChunkKind.PARAGRAPH
            if (
                block is None
                or block.kind is not kind
                or _starts_paragraph(previous, line, kind, margin)
            ):
                _flush(collector, block)
                block = _Block(kind, page.number, back_level is not None or front)
            block.lines.append(line.text)
            block.last_page = page.number
            previous = line
    _flush(collector, block)
    _mark_page_ranges(collector.chunks)


def _mark_page_ranges(chunks: Sequence[Chunk]) -> None:
    """Give every heading the last page of its section, up to the next heading as high.

    A paragraph running on past a page turn is cited where it starts, yet its section covers
    the page it ends on: `_flush` leaves that page in `end_page` for this pass to read.
    """
    open_headings: list[Chunk] = []
    for chunk in chunks:
        if chunk.kind is ChunkKind.HEADING:
            level = chunk.ref.heading_level or 1
            while open_headings and (open_headings[-1].ref.heading_level or 1) >= level:
                open_headings.pop()
            open_headings.append(chunk)
        for heading in open_headings:
            last = chunk.ref.end_page or chunk.ref.page or 0
            heading.ref.end_page = max(heading.ref.end_page or 0, last) or None
        if chunk.kind is not ChunkKind.HEADING:
            chunk.ref.end_page = None


def _continues(block: _Block, previous: Line, line: Line) -> bool:
    """Whether a page's first line carries on the paragraph the page before broke off."""
    return (
        block.kind is ChunkKind.PARAGRAPH
        and not previous.text.endswith(_SENTENCE_END)
        and line.text[:1].islower()
        and not line.mono
    )


def _heading_line_spans(sections: Sequence[Section], pages: Sequence[Page]) -> set[tuple[int, int]]:
    """The lines that print a section's title (one, or two for a wrapped title)."""
    spans: set[tuple[int, int]] = set()
    for section in sections:
        if section.line is None:
            continue
        spans.add((section.page, section.line))
        lines = pages[section.page - 1].lines
        first = _title_key(lines[section.line].text)
        after = section.line + 1
        if (
            after < len(lines)
            and len(first) < len(_title_key(section.title))
            and _title_key(lines[after].text) in _title_key(section.title)
        ):
            spans.add((section.page, after))
    return spans


def _front_page(page: Page, before_first: bool) -> bool:
    """Title, copyright and contents pages ahead of the first section."""
    if not before_first:
        return False
    text = " ".join(line.text for line in page.lines)
    leaders = sum(1 for line in page.lines if _DOT_LEADER.search(line.text))
    return bool(_COPYRIGHT_PAGE.search(text)) or leaders >= max(3, len(page.lines) // 2)


def _starts_paragraph(previous: Line | None, line: Line, kind: ChunkKind, margin: float) -> bool:
    """A new paragraph: after a wider gap, at a bullet, or after a short line ending a sentence."""
    if previous is None:
        return True
    if kind is ChunkKind.CODE:
        return False
    if _BULLET.match(line.text):
        return True
    size = max(previous.size, line.size)
    if size and previous.last_bottom - line.bottom > size * 1.6:
        return True
    return previous.text.endswith(_SENTENCE_END) and previous.right < margin * 0.9


def _flush(collector: ChunkCollector, block: _Block | None) -> None:
    if block is None or not block.lines:
        return
    ref = Reference(page=block.page, end_page=block.last_page)
    text = "\n".join(block.lines) if block.kind is ChunkKind.CODE else reflow(block.lines)
    collector.add(block.kind, text, ref, back_matter=block.back_matter)


def reflow(lines: Sequence[str]) -> str:
    """Join wrapped lines into one paragraph, mending words hyphenated at a line end."""
    text = ""
    for line in lines:
        if not text:
            text = line
        elif text.endswith(_SOFT_HYPHENS) or _broken_word(text, line):
            text = text[:-1] + line
        else:
            text = f"{text} {line}"
    for mark in _SOFT_HYPHENS:
        text = text.replace(mark, "")
    return text


def title_page_heading(pages: Sequence[Page], body: float) -> str | None:
    """The largest line of the first page when it stands out from the body text."""
    lines = pages[0].lines if pages else []
    largest = max(lines, key=lambda line: line.size, default=None)
    if largest is None or not body or largest.size < body * 1.3:
        return None
    return largest.text


def _broken_word(text: str, line: str) -> bool:
    """A word hyphenated at the line end: "iden-" then "tifier"."""
    return text.endswith("-") and len(text) > 1 and text[-2].isalpha() and line[:1].islower()


def add_slides(collector: ChunkCollector, pages: Sequence[Page]) -> None:
    """A deck: each page one slide, its first line the title when no line is set larger."""
    for page in pages:
        lines = list(page.lines)
        if not lines:
            continue
        title = lines[0]
        if len(title.text.split()) <= _HEADING_MAX_WORDS and all(
            title.size >= line.size for line in lines
        ):
            lines.remove(title)
            collector.add(ChunkKind.HEADING, title.text, Reference(slide=page.number,
                                                                    heading_level=1))  # fmt: skip
        text = "\n".join(reflow([line.text]) for line in lines)
        collector.add(ChunkKind.SLIDE_TEXT, text, Reference(slide=page.number))
