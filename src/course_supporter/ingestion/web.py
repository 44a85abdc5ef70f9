"""Web pages: fetched safely, reduced to their main text with trafilatura, headings kept."""

from __future__ import annotations

import asyncio
from typing import Any

import trafilatura

from course_supporter.config import Settings
from course_supporter.ingestion.chunks import ChunkCollector
from course_supporter.ingestion.document import ChunkKind, Reference, SourceDocument
from course_supporter.ingestion.errors import IngestionError
from course_supporter.ingestion.fetching import FetchedPage, fetch_page
from course_supporter.ingestion.html_text import html_blocks


class WebPageProcessor:
    """One web page; every chunk points back to the page's (final, redirected) URL."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def extract(self, url: str) -> SourceDocument:
        page = await fetch_page(url, self.settings)
        return await asyncio.to_thread(self.reduce, page)

    def reduce(self, page: FetchedPage) -> SourceDocument:
        """Main text via trafilatura; when it finds none, every text block of the page."""
        collector = ChunkCollector(self.settings.ingest_max_text_chars, page.url)
        html = page.text()
        extracted = trafilatura.bare_extraction(
            html, url=page.url, with_metadata=True, include_comments=False, include_tables=True
        )
        body = getattr(extracted, "body", None)
        title = str(getattr(extracted, "title", None) or "")
        if body is not None:
            for element in body:
                self._add_element(collector, element, page.url)
        extractor = "trafilatura"
        if not collector.chunks:
            extractor = "html"
            page_title, blocks = html_blocks(html)
            title = title or page_title
            for block in blocks:
                kind = ChunkKind.WEB_CONTENT if block.heading_level is None else ChunkKind.HEADING
                collector.add(
                    kind, block.text, Reference(url=page.url, heading_level=block.heading_level)
                )
        if not collector.chunks:
            raise IngestionError(f"{page.url} has no readable text")
        return SourceDocument(
            source_type="web",
            title=title or collector.first_heading() or page.url,
            chunks=collector.chunks,
            metadata={"url": page.url, "extractor": extractor,
                      "characters": collector.total_chars},
        )  # fmt: skip

    def _add_element(self, collector: ChunkCollector, element: Any, url: str) -> None:
        text = "".join(element.itertext())
        if element.tag == "head":
            rend = str(element.get("rend") or "h2")
            level = int(rend[1]) if rend[:1] == "h" and rend[1:2].isdigit() else 2
            collector.add(ChunkKind.HEADING, text, Reference(url=url, heading_level=level))
        elif element.tag == "list":
            items = ("".join(item.itertext()).strip() for item in element.findall("item"))
            collector.add(ChunkKind.WEB_CONTENT, "\n".join(items), Reference(url=url))
        elif element.tag == "table":
            rows = (
                " | ".join("".join(cell.itertext()).strip() for cell in row.iter("cell"))
                for row in element.iter("row")
            )
            collector.add(ChunkKind.WEB_CONTENT, "\n".join(rows), Reference(url=url))
        else:
            collector.add(ChunkKind.WEB_CONTENT, text, Reference(url=url))
