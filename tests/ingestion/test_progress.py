"""A parse tells how far it got as it goes: the confined child sends each unit up its pipe."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from course_supporter.config import Settings
from course_supporter.ingestion.errors import IngestionError
from course_supporter.ingestion.extract import extract_document
from course_supporter.ingestion.progress import READING_PAGES, READING_SLIDES
from tests.ingestion.conftest import TOPICS, pdf_bytes, topic_pages_pdf


class Heard:
    """A thread-safe progress callback that keeps every report and the thread it came from."""

    def __init__(self) -> None:
        self.reports: list[tuple[int, int | None, str]] = []
        self.threads: set[int] = set()
        self._lock = threading.Lock()

    def __call__(self, done: int, total: int | None, phase: str) -> None:
        with self._lock:
            self.reports.append((done, total, phase))
            self.threads.add(threading.get_ident())


PAGES = len(TOPICS)


def multi_page_pdf(path: Path) -> Path:
    path.write_bytes(topic_pages_pdf())
    return path


async def test_a_pdf_reports_every_page_in_order_while_it_is_read(
    tmp_path: Path, settings: Settings
) -> None:
    heard = Heard()
    document = await extract_document(
        "text",
        path=multi_page_pdf(tmp_path / "book.pdf"),
        url=None,
        filename="book.pdf",
        settings=settings,
        progress=heard,
    )
    assert document.metadata.page_count == PAGES
    assert heard.reports == [(n, PAGES, READING_PAGES) for n in range(1, PAGES + 1)]
    # Handed on by the reader of the child's pipe, not by the event loop's thread.
    assert threading.get_ident() not in heard.threads


async def test_a_deck_reports_its_slides(pptx_file: Path, settings: Settings) -> None:
    heard = Heard()
    document = await extract_document(
        "presentation", path=pptx_file, url=None, filename="genetics.pptx", settings=settings,
        progress=heard,
    )  # fmt: skip
    slides = document.metadata.slide_count
    assert slides and slides > 1
    assert heard.reports == [(n, slides, READING_SLIDES) for n in range(1, slides + 1)]


async def test_a_format_without_units_reports_nothing_and_still_parses(
    tmp_path: Path, settings: Settings
) -> None:
    heard = Heard()
    notes = tmp_path / "notes.txt"
    notes.write_text("First paragraph.\n\nSecond paragraph.\n")
    document = await extract_document(
        "text", path=notes, url=None, filename="notes.txt", settings=settings, progress=heard
    )
    assert [chunk.text for chunk in document.chunks] == ["First paragraph.", "Second paragraph."]
    assert heard.reports == []


async def test_without_a_listener_the_child_is_called_as_before(
    tmp_path: Path, settings: Settings
) -> None:
    document = await extract_document(
        "text",
        path=multi_page_pdf(tmp_path / "book.pdf"),
        url=None,
        filename="book.pdf",
        settings=settings,
    )
    assert document.metadata.page_count == PAGES


async def test_a_parse_that_fails_after_reporting_pages_still_reports_its_error(
    tmp_path: Path, settings: Settings
) -> None:
    """Progress messages before the result do not hide the child's error message."""
    heard = Heard()
    path = tmp_path / "scan.pdf"
    path.write_bytes(pdf_bytes([[] for _ in range(3)]))  # pages without a text layer
    with pytest.raises(IngestionError, match="no text layer"):
        await extract_document(
            "text", path=path, url=None, filename="scan.pdf", settings=settings, progress=heard
        )
    assert heard.reports == [(n, 3, READING_PAGES) for n in range(1, 4)]
