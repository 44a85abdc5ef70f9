"""Reduce an HTML document to its headings and text blocks, in reading order."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

_SKIPPED = frozenset({"script", "style", "noscript", "template", "svg", "nav", "head", "iframe"})
_BLOCKS = frozenset(
    {
        "p", "div", "li", "pre", "blockquote", "dt", "dd", "figcaption", "section", "article",
        "main", "header", "footer", "aside", "ul", "ol", "dl", "table", "tr", "hr", "form",
    }
)  # fmt: skip
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_WHITESPACE = re.compile(r"\s+")
_VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "wbr"})


@dataclass(frozen=True)
class HtmlBlock:
    """One heading (with its level) or one block of text."""

    text: str
    heading_level: int | None = None


class _BlockParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[HtmlBlock] = []
        self.title = ""
        self._buffer: list[str] = []
        self._skip_depth = 0
        self._in_title = False
        self._heading_level: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in _SKIPPED and tag not in _VOID:
            self._skip_depth += 1
        elif tag in _HEADINGS:
            self._flush()
            self._heading_level = _HEADINGS[tag]
        elif tag in _BLOCKS:
            self._flush()
        elif tag == "br":
            self._buffer.append("\n")
        elif tag in ("td", "th") and self._buffer:
            self._buffer.append(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _SKIPPED:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _HEADINGS or tag in _BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip_depth:
            self._buffer.append(_WHITESPACE.sub(" ", data))

    def close(self) -> None:
        super().close()
        self._flush()

    def _flush(self) -> None:
        text = "".join(self._buffer).strip()
        self._buffer.clear()
        if text:
            self.blocks.append(HtmlBlock(text=text, heading_level=self._heading_level))
        self._heading_level = None


def html_blocks(html: str) -> tuple[str, list[HtmlBlock]]:
    """Return the page <title> and its text blocks; scripts, styles and navigation are dropped."""
    parser = _BlockParser()
    parser.feed(html)
    parser.close()
    return " ".join(parser.title.split()), parser.blocks
