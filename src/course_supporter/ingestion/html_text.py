"""The one HTML path, uploaded or fetched: a page's main content as headings, text and code."""

from __future__ import annotations

import re
from collections.abc import Iterator
from configparser import ConfigParser
from dataclasses import dataclass, field, replace

import lxml.html  # type: ignore[import-untyped]  # no stubs in the lock; trafilatura's parser
import trafilatura
from lxml import etree
from trafilatura.settings import use_config

from course_supporter.ingestion.chunks import ChunkCollector
from course_supporter.ingestion.document import ChunkKind, Reference
from course_supporter.ingestion.errors import IngestionError, RedirectPage

_HEADING_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6")
# Page chrome removed before extraction, whatever the main-content heuristics decide.
_CHROME_MARKS = ("sidebar", "menu-bar", "searchbar", "search-wrapper", "help-popup", "nav-wrapper")
_CHROME = (
    "//nav | //aside | //footer | //form | //dialog | //noscript | //template"
    " | //*[@role='navigation' or @role='search' or @role='banner' or @role='contentinfo'"
    " or @role='complementary' or @role='dialog']"
    " | //body//*[not(self::main or self::article)]["
    + " or ".join(
        f"contains(@id, '{m}') or contains(concat(' ', normalize-space(@class), ' '), ' {m} ')"
        for m in _CHROME_MARKS
    )
    + "]"
)
_EMPHASIS_RENDS = frozenset({"#b", "#strong"})
_REFRESH_URL = re.compile(r"url\s*=\s*['\"]?([^'\";]+)", re.IGNORECASE)
# A redirect stub holds a line of "Redirecting to…" text, never a lesson.
_STUB_MAX_CHARS = 300


def _extraction_config() -> ConfigParser:
    config = use_config()
    # Keep short pages too: the defaults drop anything under 250 characters to a cruder fallback.
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "1")
    config.set("DEFAULT", "MIN_OUTPUT_SIZE", "1")
    return config


_CONFIG = _extraction_config()


@dataclass(frozen=True)
class HtmlBlock:
    """One heading, text block or code listing of the main content."""

    kind: ChunkKind
    text: str
    heading_level: int | None = None
    anchor: str | None = None
    emphasis: tuple[str, ...] = ()


@dataclass
class HtmlContent:
    """A page reduced to its title and main-content blocks."""

    title: str
    blocks: list[HtmlBlock] = field(default_factory=list)

    def add_to(self, collector: ChunkCollector, text_kind: ChunkKind, url: str | None) -> None:
        """Add the blocks as chunks; prose blocks take `text_kind`, every chunk points at `url`."""
        for block in self.blocks:
            kind = text_kind if block.kind is ChunkKind.PARAGRAPH else block.kind
            ref = Reference(url=url, anchor=block.anchor, heading_level=block.heading_level)
            collector.add(kind, block.text, ref, emphasis=block.emphasis)


def main_content(html: str, label: str, url: str | None = None) -> HtmlContent:
    """Extract the main content; raise for redirect stubs and pages with none."""
    try:
        tree = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        raise IngestionError(f"{label} is not a readable HTML page") from None
    _refuse_redirect_stub(tree, label)
    # Comments go, the text after them stays (`Chapter 2</a><!-- ignore -->. Adding mut`):
    # the extractor drops a comment's tail with it.
    etree.strip_tags(tree, etree.Comment, etree.ProcessingInstruction)
    page_title = " ".join(" ".join(tree.xpath("//title//text()")).split())
    anchors = _heading_anchors(tree)
    for element in tree.xpath(_CHROME):
        if element.getparent() is not None:
            element.drop_tree()
    _keep_listings(tree)
    _wrap_loose_body(tree)
    extracted = trafilatura.bare_extraction(
        tree,
        url=url,
        fast=True,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_formatting=True,
        include_images=False,
        include_links=False,
        config=_CONFIG,
    )
    body = getattr(extracted, "body", None)
    blocks = list(_blocks(body, anchors)) if body is not None else []
    if not any(block.text.strip() for block in blocks):
        raise IngestionError(
            f"{label} has no main content (only navigation, menus or boilerplate); "
            "give the page that holds the lesson text"
        )
    top = min((b.heading_level for b in blocks if b.heading_level is not None), default=1)
    blocks = [_relative(block, top) for block in blocks]
    content_title = next((b.text for b in blocks if b.heading_level == 1), None)
    meta_title = str(getattr(extracted, "title", None) or "")
    return HtmlContent(title=content_title or meta_title or page_title, blocks=blocks)


def _keep_listings(tree: lxml.html.HtmlElement) -> None:
    """Turn figures holding code or tables into plain blocks: trafilatura drops every <figure>."""
    for figure in list(tree.iter("figure")):
        if figure.find(".//pre") is not None or figure.find(".//table") is not None:
            figure.tag = "div"
            for caption in figure.iter("figcaption"):
                caption.tag = "p"


def _wrap_loose_body(tree: lxml.html.HtmlElement) -> None:
    """Put a page without a content container into one: trafilatura drops headings left loose."""
    if tree.xpath("//main | //article | //*[@role='main']"):
        return
    body = tree.find("body")
    if body is None:
        return
    main = lxml.html.Element("main")
    main.text, body.text = body.text, None
    for child in list(body):
        main.append(child)
    body.append(main)


def _relative(block: HtmlBlock, top: int) -> HtmlBlock:
    if block.heading_level is None:
        return block
    return replace(block, heading_level=block.heading_level - top + 1)


def _refuse_redirect_stub(tree: lxml.html.HtmlElement, label: str) -> None:
    refresh = tree.xpath("//meta[translate(@http-equiv, 'REFSH', 'refsh')='refresh']/@content")
    if not refresh:
        return
    body = tree.find("body")
    text = "" if body is None else " ".join(body.xpath(".//text()[not(ancestor::script)]"))
    if len(" ".join(text.split())) > _STUB_MAX_CHARS:
        return
    match = _REFRESH_URL.search(str(refresh[0]))
    target = match.group(1).strip() if match else "another page"
    raise RedirectPage(f"{label} only redirects to {target}; give that page instead", target)


def _heading_anchors(tree: lxml.html.HtmlElement) -> list[tuple[str, str]]:
    """(normalized text, id) of each heading with an id: its own, a child's or its section's."""
    anchors: list[tuple[str, str]] = []
    for heading in tree.iter(*_HEADING_TAGS):
        anchor = heading.get("id")
        if not anchor:
            inner = heading.xpath(".//*[@id]/@id | .//a[@name]/@name")
            anchor = str(inner[0]) if inner else None
        parent = heading.getparent()
        if not anchor and parent is not None and parent.tag in ("section", "article"):
            anchor = parent.get("id")
        if anchor:
            anchors.append((_normalized(heading.text_content()), anchor))
    return anchors


def _normalized(text: str) -> str:
    return " ".join(text.split()).casefold()


def _blocks(body: etree._Element, anchors: list[tuple[str, str]]) -> Iterator[HtmlBlock]:
    remaining = list(anchors)
    anchor: str | None = None
    for element in body:
        if element.tag == "head":
            text = " ".join("".join(element.itertext()).split())
            rend = str(element.get("rend") or "h2")
            level = int(rend[1]) if rend[:1] == "h" and rend[1:2].isdigit() else 2
            key = _normalized(text)
            found = next((i for i, (name, _) in enumerate(remaining) if name == key), None)
            if found is not None:
                anchor = remaining.pop(found)[1]
            yield HtmlBlock(ChunkKind.HEADING, text, level, anchor)
        elif element.tag == "code":
            yield HtmlBlock(ChunkKind.CODE, "".join(element.itertext()), anchor=anchor)
        elif element.tag == "list":
            yield _list_block(element, anchor)
        elif element.tag == "table":
            rows = (
                " | ".join(_prose(cell) for cell in row.iter("cell") if _prose(cell))
                for row in element.iter("row")
            )
            yield HtmlBlock(ChunkKind.PARAGRAPH, "\n".join(rows), anchor=anchor,
                            emphasis=_emphasis(element))  # fmt: skip
        else:
            yield HtmlBlock(ChunkKind.PARAGRAPH, _prose(element), anchor=anchor,
                            emphasis=_emphasis(element))  # fmt: skip


def _list_block(element: etree._Element, anchor: str | None) -> HtmlBlock:
    lines: list[str] = []
    terms: list[str] = []
    for item in element.iterfind("item"):
        text = _prose(item)
        rend = str(item.get("rend") or "")
        if rend.startswith("dt"):
            terms.append(text)
            lines.append(f"{text}:")
        elif rend.startswith("dd") and lines and lines[-1].endswith(":"):
            lines[-1] = f"{lines[-1]} {text}"
        else:
            lines.append(text)
    return HtmlBlock(ChunkKind.PARAGRAPH, "\n".join(line for line in lines if line),
                     anchor=anchor, emphasis=tuple(terms) + _emphasis(element))  # fmt: skip


def _prose(element: etree._Element) -> str:
    """Text with the source's line wrapping undone."""
    return " ".join("".join(element.itertext()).split())


def _emphasis(element: etree._Element) -> tuple[str, ...]:
    marked = (
        "".join(child.itertext())
        for child in element.iter("hi", "code")
        if child is not element and (child.tag == "code" or child.get("rend") in _EMPHASIS_RENDS)
    )
    return tuple(term for term in marked if term.strip())
