"""PDF documents: outline from bookmarks (or type), page chrome dropped, text reflowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from course_supporter.config import Settings
from course_supporter.ingestion.document import ChunkKind, SourceDocument
from course_supporter.ingestion.errors import IngestionError
from course_supporter.ingestion.extract import extract_document
from tests.ingestion.pdf_samples import Bookmark, Text, manual_pdf

HEADER = "Practical Rust Manual"


def _page(number: int, lines: list[Text]) -> list[Text]:
    """A manual page: running header on top, page number at the foot."""
    return [Text(HEADER, 760, 9), *lines, Text(str(number), 40, 9, x=300)]


def _body(y: float, *lines: str, font: str = "body") -> list[Text]:
    return [Text(line, y - 14 * i, 11, font) for i, line in enumerate(lines)]


PAGES = [
    [Text("Practical Rust", 600, 24, "bold"), Text("A short manual for new programmers", 560)],
    _page(2, [
        Text("1 Getting started", 720, 16, "bold"),
        *_body(690, "Every program starts with an iden-", "tifier that names it; the identifier",
               "is chosen by the author of the program."),
        Text("1.1 Installing", 620, 13, "bold"),
        *_body(590, "Install the toolchain with the installer that your system offers and",
               "check it with the version command; the installer also sets up the"),
    ]),
    _page(3, [
        *_body(720, "package manager, which downloads the libraries that a project needs."),
        Text("2 Variables", 660, 16, "bold"),
        *_body(630, "A variable binds a name to a value:"),
        *_body(600, "let secret_number = 42;", "let mut guess = String::new();", font="mono"),
        *_body(560, "Variables are immutable unless they are declared with mut."),
    ]),
    _page(4, [*_body(720, "Shadowing declares a new variable with the same name as an old one.")]),
    _page(5, [
        Text("Appendix A GNU Free Documentation License", 720, 16, "bold"),
        *_body(690, "Permission is granted to copy, distribute and/or modify this document",
               "under the terms of the GNU Free Documentation License."),
    ]),
]  # fmt: skip

OUTLINE = [
    Bookmark("1 Getting started", 1, [Bookmark("1.1 Installing", 1)]),
    Bookmark("2 Variables", 2),
    Bookmark("Appendix A GNU Free Documentation License", 4),
]


async def _extract(path: Path, settings: Settings, source_type: str = "text") -> SourceDocument:
    return await extract_document(
        source_type, path=path, url=None, filename=path.name, settings=settings
    )


def _headings(document: SourceDocument) -> list[tuple[str, int | None, int | None, int | None]]:
    return [
        (c.text, c.ref.heading_level, c.ref.page, c.ref.end_page)
        for c in document.chunks
        if c.kind is ChunkKind.HEADING
    ]


async def test_bookmarks_define_sections_and_the_page_chrome_is_gone(
    tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "manual.pdf"
    path.write_bytes(manual_pdf(PAGES, OUTLINE))
    document = await _extract(path, settings, "presentation")
    assert document.metadata.outline == "bookmarks"
    assert document.metadata.layout == "document"
    assert (document.metadata.page_count, document.metadata.slide_count) == (len(PAGES), None)
    assert document.title == "Practical Rust"
    assert _headings(document) == [
        ("1 Getting started", 1, 2, 3),
        ("1.1 Installing", 2, 2, 3),
        ("2 Variables", 1, 3, 4),
        ("Appendix A GNU Free Documentation License", 1, 5, 5),
    ]
    texts = [c.text for c in document.chunks]
    assert not any(HEADER in text for text in texts)
    assert not any(text.strip().isdigit() for text in texts)
    assert (
        "Every program starts with an identifier that names it; the identifier "
        "is chosen by the author of the program." in texts
    )
    # A paragraph broken by a page turn is one paragraph, cited at the page it starts on.
    installing = next(c for c in document.chunks if c.text.startswith("Install the toolchain"))
    assert installing.text.endswith("the package manager, which downloads the libraries that "
                                    "a project needs.")  # fmt: skip
    assert installing.ref.page == 2
    code = [c for c in document.chunks if c.kind is ChunkKind.CODE]
    assert [c.text for c in code] == ["let secret_number = 42;\nlet mut guess = String::new();"]
    # Cited once, by page: a document has no slides.
    assert all(c.ref.slide is None and c.ref.page is not None for c in document.chunks)
    licence = [c for c in document.chunks if c.ref.page == 5]
    assert licence and all(c.back_matter for c in licence)
    assert not any(c.back_matter for c in document.chunks if c.ref.page != 5)


async def test_broken_bookmarks_fall_back_to_headings_from_type(
    tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "manual.pdf"
    broken = [Bookmark("Chapter one", -1), Bookmark("Chapter two", -1), Bookmark("Three", -1)]
    path.write_bytes(manual_pdf(PAGES, broken))
    document = await _extract(path, settings)
    assert document.metadata.outline == "fonts"
    assert _headings(document) == [
        ("1 Getting started", 1, 2, 3),
        ("1.1 Installing", 2, 2, 3),
        ("2 Variables", 1, 3, 4),
        ("Appendix A GNU Free Documentation License", 1, 5, 5),
    ]
    assert [c.back_matter for c in document.chunks if c.ref.page == 5] == [True, True]


async def test_pdf_without_text_layer_says_it_is_a_scan(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(manual_pdf([[], [], []]))
    with pytest.raises(IngestionError, match=r"scan.pdf has no text layer \(scanned"):
        await _extract(path, settings)
