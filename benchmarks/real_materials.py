"""`build` over real documents on this machine: does the structure look like one a teacher signs?

Corpora (all read from disk, nothing downloaded; a missing one is named and skipped):
- mdbook: The Rust Programming Language, chapters 1-5, as rustup installs it (HTML site).
- pdf: the GNU Libtasn1 manual (/usr/share/doc/libtasn1-doc), bookmarks and a GFDL appendix.
- slides: a PPTX generated with python-pptx from the Rust book's ownership chapter: one
  divider slide per section heading, then its paragraphs as bullets.
- lecture: a WebVTT generated from the Rust book's structs chapter, one cue per sentence, read
  as a lecturer reads it: the subject announced at the start, a pause and a spoken transition
  ("Next, let's look at …") before each section, a short breath between paragraphs. A first
  version ran the sentences back to back, without a pause or a word of transition: no signal of
  where a section ends was left, and no recorded lecture sounds like that.
- markdown: npm's own docs (Markdown with front matter) under /usr/lib/node_modules/npm/docs.

Per corpus it prints the figures of `course_supporter.structuring.quality` against the targets.

Run: .venv/bin/python benchmarks/real_materials.py [--only mdbook,pdf] [--markdown DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import html
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from course_supporter.config import get_settings
from course_supporter.db import new_id
from course_supporter.ingestion.extract import extract_document
from course_supporter.ingestion.merge import MaterialDocument, build_course_context
from course_supporter.llm.router import CallLog
from course_supporter.llm.strategy import Strategy
from course_supporter.structuring.architect import generate_structure
from course_supporter.structuring.cli import source_type_of
from course_supporter.structuring.outline import render_markdown
from course_supporter.structuring.quality import TARGETS, QualityReport, assess, misses

RUST_BOOK = Path(
    "/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/share/doc/rust/html/book"
)
LIBTASN1 = Path("/usr/share/doc/libtasn1-doc/libtasn1.pdf")
NPM_DOCS = Path("/usr/lib/node_modules/npm/docs/content/using-npm")
RUST_SITE = "The Rust Programming Language"
PDF_BACK_MATTER = ("Copying Information", "GNU Free Documentation License", "Index")
FRONT_MATTER_TITLE = re.compile(r"^---\n(?:.*\n)*?title: (?P<title>.+)\n(?:.*\n)*?---\n")
SECONDS_PER_WORD = 0.4
SECTION_PAUSE_SECONDS = 3.5
PARAGRAPH_PAUSE_SECONDS = 0.6
TRANSITIONS = ("Now let's look at {}.", "Next, let's talk about {}.", "Let's move on to {}.")


@dataclass
class Corpus:
    name: str
    files: list[Path]
    outline: list[str]
    boilerplate: list[str] = field(default_factory=list)


class _MainText(HTMLParser):
    """The headings and paragraphs inside an mdBook page's <main>, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[tuple[str, str]] = []
        self._in_main = False
        self._tag: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "main":
            self._in_main = True
        elif self._in_main and tag in {"h1", "h2", "h3", "p"} and self._tag is None:
            self._tag, self._text = tag, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "main":
            self._in_main = False
        elif tag == self._tag:
            text = " ".join("".join(self._text).split())
            if text:
                self.blocks.append((tag, text))
            self._tag = None

    def handle_data(self, data: str) -> None:
        if self._tag is not None:
            self._text.append(data)


def _main_text(page: Path) -> list[tuple[str, str]]:
    parser = _MainText()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.blocks


def _page_title(page: Path) -> str:
    match = re.search(r"<title>(.*?)</title>", page.read_text(encoding="utf-8"), re.DOTALL)
    title = html.unescape(match[1].strip()) if match else page.stem
    return title.removesuffix(f" - {RUST_SITE}").strip()


def mdbook() -> Corpus | str:
    if not RUST_BOOK.is_dir():
        return f"the Rust book is not installed at {RUST_BOOK}"
    pages = sorted(p for p in RUST_BOOK.glob("ch0[1-5]-*.html"))
    return Corpus("mdbook", pages, [_page_title(p) for p in pages], [RUST_SITE])


def pdf() -> Corpus | str:
    if not LIBTASN1.is_file():
        return f"{LIBTASN1} is missing (apt-get install libtasn1-doc)"
    import pypdfium2

    document = pypdfium2.PdfDocument(str(LIBTASN1))
    outline: list[str] = []
    back: list[str] = []
    in_back = False
    for bookmark in document.get_toc():
        title = re.sub(r"^(?:[A-Z]|\d+)(?:\.\d+)*\.?\s+", "", bookmark.get_title()).strip()
        if bookmark.level == 0:
            in_back = any(marker in title for marker in PDF_BACK_MATTER)
        (back if in_back else outline).append(title)
    document.close()
    return Corpus("pdf", [LIBTASN1], outline, back)


def _sections(page: Path) -> list[tuple[str, list[str]]]:
    """A page's sections (mdBook: h2 is the page title, h3 its sections) and their paragraphs."""
    sections: list[tuple[str, list[str]]] = []
    for tag, text in _main_text(page):
        if tag in {"h1", "h2", "h3"}:
            sections.append((text, []))
        elif sections:
            sections[-1][1].append(text)
    return sections


def slides(workdir: Path) -> Corpus | str:
    page = RUST_BOOK / "ch04-01-what-is-ownership.html"
    if not page.is_file():
        return f"{page} is missing"
    from pptx import Presentation

    deck = Presentation()
    outline: list[str] = []
    for heading, paragraphs in _sections(page):
        divider = deck.slides.add_slide(deck.slide_layouts[0])
        divider.shapes.title.text = heading
        outline.append(heading)
        for start in range(0, len(paragraphs), 3):
            slide = deck.slides.add_slide(deck.slide_layouts[1])
            slide.shapes.title.text = heading
            body = slide.placeholders[1].text_frame
            body.text = paragraphs[start]
            for paragraph in paragraphs[start + 1 : start + 3]:
                body.add_paragraph().text = paragraph
    path = workdir / "ownership.pptx"
    deck.save(str(path))
    return Corpus("slides", [path], outline)


def _timecode(seconds: float) -> str:
    whole = int(seconds)
    millis = int((seconds - whole) * 1000)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}.{millis:03d}"


def _spoken(heading: str) -> str:
    """A heading as a speaker says it: lower case, except names and acronyms (`ASN.1`)."""
    return " ".join(w if w[1:2].isupper() or w.isupper() else w.lower() for w in heading.split())


def lecture(workdir: Path) -> Corpus | str:
    page = RUST_BOOK / "ch05-01-defining-structs.html"
    if not page.is_file():
        return f"{page} is missing"
    cues = ["WEBVTT", ""]
    outline: list[str] = []
    now = 0.0

    def say(sentence: str) -> None:
        nonlocal now
        length = max(1.5, len(sentence.split()) * SECONDS_PER_WORD)
        cues.extend([f"{_timecode(now)} --> {_timecode(now + length)}", sentence, ""])
        now += length

    sections = _sections(page)
    for number, (heading, paragraphs) in enumerate(sections):
        outline.append(heading)
        if number == 0:
            say(f"In this lecture, we'll talk about {_spoken(heading)}.")
        else:
            now += SECTION_PAUSE_SECONDS
            last = number == len(sections) - 1
            transition = "Finally, let's talk about {}." if last else TRANSITIONS[number % 3]
            say(transition.format(_spoken(heading)))
        for paragraph in paragraphs:
            for sentence in re.split(r"(?<=[.!?])\s+", paragraph):
                say(sentence)
            now += PARAGRAPH_PAUSE_SECONDS
    path = workdir / "structs-lecture.vtt"
    path.write_text("\n".join(cues), encoding="utf-8")
    return Corpus("lecture", [path], outline)


def markdown() -> Corpus | str:
    if not NPM_DOCS.is_dir():
        return f"npm's docs are not at {NPM_DOCS}"
    files = sorted(NPM_DOCS.glob("*.md"))
    outline = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        match = FRONT_MATTER_TITLE.match(text)
        outline.append(match["title"].strip() if match else path.stem)
        outline += [line[4:].strip() for line in text.splitlines() if line.startswith("### ")]
    return Corpus("markdown", files, outline, ["npm", "See also"])


async def build(corpus: Corpus) -> tuple[QualityReport, str, float]:
    """What `course-supporter build` does with the corpus, plus the figures of its structure."""
    settings = get_settings()
    started = time.perf_counter()
    materials = []
    for path in corpus.files:
        source_type = source_type_of(str(path))
        document = await extract_document(
            source_type, path=path, url=None, filename=path.name, settings=settings
        )
        materials.append(MaterialDocument(new_id(), source_type, path.name, document))
    context = build_course_context(materials, {})
    result = await generate_structure(
        context.materials, settings=settings, recorder=CallLog(), strategy=Strategy.DEFAULT
    )
    elapsed = time.perf_counter() - started
    report = assess(
        result.structure,
        corpus.outline,
        references_without_term=result.references_without_term,
        boilerplate=corpus.boilerplate,
    )
    labels = {m.material_id: m.label for m in context.materials}
    return report, render_markdown(result.structure, labels), elapsed


def _row(name: str, report: QualityReport, seconds: float) -> str:
    cells = [
        name,
        str(report.lessons),
        f"{report.empty_ratio:.0%}",
        f"{report.outline_found}/{report.outline_entries} {report.outline_ratio:.0%}",
        str(report.boilerplate_titles),
        f"{report.fragment_ratio:.0%} of {report.concepts}",
        f"{report.holding_ratio:.0%} of {report.references}",
        f"{report.template_ratio:.0%} of {report.exercises}",
        f"{seconds:.1f}",
        ", ".join(misses(report)) or "all met",
    ]
    return " | ".join(cells)


CORPORA: dict[str, Callable[[Path], Corpus | str]] = {
    "mdbook": lambda _: mdbook(),
    "pdf": lambda _: pdf(),
    "slides": slides,
    "lecture": lecture,
    "markdown": lambda _: markdown(),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(CORPORA), help="comma-separated corpora")
    parser.add_argument("--markdown", type=Path, help="write each outline to DIR/<corpus>.md")
    args = parser.parse_args()
    print(
        "targets: empty <= {empty:.0%}, outline >= {outline:.0%}, boilerplate {boilerplate}, "
        "fragments <= {fragments:.0%}, references holding the term >= {holding:.0%}, "
        "templates <= {templates:.0%}".format(**TARGETS)
    )
    print(
        "corpus | lessons | empty | outline found | boilerplate | fragments | "
        "refs hold term | templates | s | targets missed"
    )
    missed = 0
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.only.split(","):
            corpus = CORPORA[name](Path(workdir))
            if isinstance(corpus, str):
                print(f"{name} | skipped: {corpus}")
                continue
            report, outline, seconds = asyncio.run(build(corpus))
            print(_row(name, report, seconds))
            missed += bool(misses(report))
            if args.markdown:
                args.markdown.mkdir(parents=True, exist_ok=True)
                (args.markdown / f"{name}.md").write_text(outline, encoding="utf-8")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
