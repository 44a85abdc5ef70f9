"""Web pages: fetched safely, reduced to their main text with trafilatura, headings kept."""

from __future__ import annotations

import asyncio

from course_supporter.config import Settings
from course_supporter.ingestion.chunks import ChunkCollector
from course_supporter.ingestion.document import ChunkKind, DocumentMetadata, SourceDocument
from course_supporter.ingestion.fetching import FetchedPage, fetch_page
from course_supporter.ingestion.html_text import main_content


class WebPageProcessor:
    """One web page; every chunk points back to the page's (final, redirected) URL."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def extract(self, url: str) -> SourceDocument:
        page = await fetch_page(url, self.settings)
        return await asyncio.to_thread(self.reduce, page, url)

    def reduce(self, page: FetchedPage, source_url: str | None = None) -> SourceDocument:
        """The page's main content; every chunk cites the final URL (and its heading's anchor)."""
        collector = ChunkCollector(self.settings.ingest_max_text_chars, page.url)
        content = main_content(page.text(), page.url, url=page.url)
        content.add_to(collector, ChunkKind.WEB_CONTENT, url=page.url)
        return SourceDocument(
            source_type="web",
            title=content.title or collector.first_heading() or page.url,
            chunks=collector.chunks,
            metadata=DocumentMetadata(source_url=source_url or page.url, final_url=page.url,
                                      extractor="trafilatura", characters=collector.total_chars),
        )  # fmt: skip
