"""HTML, uploaded or fetched: one main-content path, headings with anchors, code verbatim."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from course_supporter.config import Settings
from course_supporter.ingestion.document import ChunkKind, SourceDocument
from course_supporter.ingestion.errors import IngestionError, RedirectPage
from course_supporter.ingestion.extract import extract_document
from course_supporter.ingestion.fetching import FetchedPage
from course_supporter.ingestion.web import WebPageProcessor

DATA = Path(__file__).parent.parent / "data" / "ingestion"
MDBOOK_PAGE = DATA / "mdbook-guessing-game.html"


async def _upload(path: Path, settings: Settings) -> SourceDocument:
    return await extract_document(
        "text", path=path, url=None, filename=path.name, settings=settings
    )


def _fetched(settings: Settings, html: bytes, url: str) -> SourceDocument:
    page = FetchedPage(url=url, content_type="text/html", charset="utf-8", body=html)
    return WebPageProcessor(settings).reduce(page)


async def test_mdbook_page_keeps_its_lesson_and_drops_the_site_chrome(
    tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "ch02.html"
    shutil.copy(MDBOOK_PAGE, path)
    document = await _upload(path, settings)
    assert document.title == "Programming a Guessing Game"
    text = "\n".join(c.text for c in document.chunks)
    for chrome in ("Keyboard shortcuts", "Press", "Search this book", "Rust Programming Language",
                   "Previous chapter", "Toggle Table of Contents"):  # fmt: skip
        assert chrome not in text
    headings = [(c.text, c.ref.heading_level, c.ref.anchor) for c in document.chunks
                if c.kind is ChunkKind.HEADING]  # fmt: skip
    assert headings == [
        ("Programming a Guessing Game", 1, "programming-a-guessing-game"),
        ("Generating a Random Number", 3, "generating-a-random-number"),
        ("Summary", 2, "summary"),
    ]
    code = [c for c in document.chunks if c.kind is ChunkKind.CODE]
    listing = next(c for c in code if "secret_number" in c.text)
    assert "    let secret_number = rand::thread_rng().gen_range(1..=100);" in listing.text
    assert listing.ref.anchor == "generating-a-random-number"
    assert 'println!("The secret number is: {secret_number}");' in listing.text
    marked = {term for c in document.chunks for term in c.emphasis}
    assert {"let", "match"} <= marked


async def test_uploaded_and_fetched_html_give_the_same_outline(
    tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "ch02.html"
    shutil.copy(MDBOOK_PAGE, path)
    uploaded = await _upload(path, settings)
    url = "https://doc.example.org/book/ch02-00-guessing-game-tutorial.html"
    fetched = _fetched(settings, MDBOOK_PAGE.read_bytes(), url)
    assert fetched.title == uploaded.title
    assert [(c.text, c.ref.heading_level, c.ref.anchor) for c in fetched.chunks] == [
        (c.text, c.ref.heading_level, c.ref.anchor) for c in uploaded.chunks
    ]
    assert [c.kind for c in fetched.chunks if c.kind is not ChunkKind.WEB_CONTENT] == [
        c.kind for c in uploaded.chunks if c.kind is not ChunkKind.PARAGRAPH
    ]
    assert all(c.ref.url == url for c in fetched.chunks)


def test_heading_levels_are_relative_to_the_page_top_heading(settings: Settings) -> None:
    html = (
        b"<html><body><main><h2 id='intro'>Intro</h2><p>Start here with the basics.</p>"
        b"<h3><a id='deeper' href='#deeper'>Deeper</a></h3><p>More <strong>detail</strong>.</p>"
        b"<pre><code>fn main() {\n    let x_y = Vec::&lt;u8&gt;::new();\n}</code></pre>"
        b"</main></body></html>"
    )
    document = _fetched(settings, html, "https://example.org/page")
    assert [(c.kind.value, c.text, c.ref.heading_level, c.ref.anchor) for c in document.chunks] == [
        ("heading", "Intro", 1, "intro"),
        ("web_content", "Start here with the basics.", None, "intro"),
        ("heading", "Deeper", 2, "deeper"),
        ("web_content", "More detail.", None, "deeper"),
        ("code", "fn main() {\n    let x_y = Vec::<u8>::new();\n}", None, "deeper"),
    ]
    assert document.chunks[3].emphasis == ["detail"]


def test_the_text_after_an_html_comment_is_kept(settings: Settings) -> None:
    # As the Rust book writes it: a comment for its link checker inside a sentence.
    html = (
        b"<html><body><main><h1 id='v'>Variables</h1><p>Add <code>mut</code> as you did in "
        b"<a href='ch02.html#s'>Chapter\n2</a><!-- ignore -->. Adding <code>mut</code> also "
        b"conveys intent.</p><p>A second paragraph, so that the page has a main content.</p>"
        b"</main></body></html>"
    )
    document = _fetched(settings, html, "https://example.org/ch03.html")
    texts = [c.text for c in document.chunks]
    assert "Add mut as you did in Chapter 2. Adding mut also conveys intent." in texts


async def test_redirect_stub_is_refused_with_its_target(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "ch17-00-oop.html"
    path.write_text(
        '<html><head><title>Redirecting...</title><meta http-equiv="refresh" '
        'content="0; URL=ch18-00-oop.html"></head><body><p>Redirecting to... '
        '<a href="ch18-00-oop.html">ch18-00-oop.html</a>.</p></body></html>'
    )
    with pytest.raises(RedirectPage, match=r"only redirects to ch18-00-oop\.html") as caught:
        await _upload(path, settings)
    assert caught.value.target == "ch18-00-oop.html"


async def test_page_without_main_content_is_a_clear_error(
    tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "menu.html"
    path.write_text(
        "<html><head><title>Site</title></head><body><nav><a href='/'>Home</a>"
        "<a href='/a'>About</a></nav><footer>Copyright 2024</footer></body></html>"
    )
    with pytest.raises(IngestionError, match=r"menu\.html has no main content"):
        await _upload(path, settings)
