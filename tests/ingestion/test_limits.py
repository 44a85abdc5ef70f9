"""Per-format limits and the cost of hostile files: pages, paragraphs, slides, cues, timecodes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pptx import Presentation

from course_supporter.config import Settings
from course_supporter.ingestion.errors import IngestionError
from course_supporter.ingestion.extract import extract_document
from course_supporter.ingestion.text import DocxProcessor
from course_supporter.structuring.schemas import TimecodeReference, format_timecode
from tests.ingestion.conftest import many_paragraphs_docx, pdf_bytes


async def _extract(path: Path, source_type: str, settings: Settings) -> None:
    await extract_document(source_type, path=path, url=None, filename=path.name, settings=settings)


def _docx_cpu_seconds(path: Path, settings: Settings) -> float:
    """CPU time of the DOCX parse itself, in this process (best of two, against noise)."""
    timings = []
    for _ in range(2):
        started = time.process_time()
        document = DocxProcessor(settings).extract(path, path.name)
        timings.append(time.process_time() - started)
    assert len(document.chunks) > 0
    return min(timings)


def test_docx_read_time_is_linear_in_paragraphs_times_styles(
    tmp_path: Path, settings: Settings
) -> None:
    # paragraph.style scanned every style: 4x the paragraphs and 4x the styles took 16x as long.
    small = _docx_cpu_seconds(many_paragraphs_docx(tmp_path / "s.docx", 5_000, 500), settings)
    large = _docx_cpu_seconds(many_paragraphs_docx(tmp_path / "l.docx", 20_000, 2_000), settings)

    assert large / small < 8, f"{small:.2f} s → {large:.2f} s"


async def test_docx_heading_styles_still_come_from_style_names(
    docx_file: Path, settings: Settings
) -> None:
    document = await extract_document(
        "text", path=docx_file, url=None, filename=docx_file.name, settings=settings
    )

    headings = [(c.text, c.ref.heading_level) for c in document.chunks if c.kind == "heading"]
    assert headings == [("Python for Beginners", 1), ("Variables", 1), ("Naming rules", 2)]


async def test_docx_over_the_paragraph_limit_fails_before_it_is_parsed(
    tmp_path: Path, settings: Settings
) -> None:
    # Like the incident's file: empty-looking paragraphs that compress ~15:1, past the zip checks.
    path = many_paragraphs_docx(tmp_path / "runaway.docx", 500_000, 20)
    settings.ingest_max_docx_paragraphs = 100_000

    started = time.process_time()
    with pytest.raises(IngestionError, match=r"has more than 100,000 paragraphs"):
        DocxProcessor(settings).extract(path, path.name)
    # Counting takes ~0.1 s; parsing alone would take ~2 s and 500 MB before the first paragraph.
    assert time.process_time() - started < 1.0

    with pytest.raises(IngestionError, match=r"^runaway.docx has more than 100,000 paragraphs"):
        await _extract(path, "text", settings)


async def test_pdf_over_the_page_limit(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "long.pdf"
    # Body text, not "Page n": a line every page repeats (numbers aside) is a running footer.
    topics = ["Widgets hold state.", "Gadgets render views.", "Sprockets move data."]
    path.write_bytes(pdf_bytes([[topic] for topic in topics]))
    settings.ingest_max_pdf_pages = 2

    with pytest.raises(IngestionError, match=r"^long.pdf has more than 2 pages"):
        await _extract(path, "presentation", settings)

    settings.ingest_max_pdf_pages = 3
    await _extract(path, "presentation", settings)


async def test_pptx_over_the_slide_limit(tmp_path: Path, settings: Settings) -> None:
    deck = Presentation()
    for number in range(3):
        deck.slides.add_slide(deck.slide_layouts[1]).shapes.title.text = f"Slide {number}"
    path = tmp_path / "deck.pptx"
    deck.save(str(path))
    settings.ingest_max_pptx_slides = 2

    with pytest.raises(IngestionError, match=r"^deck.pptx has more than 2 slides"):
        await _extract(path, "presentation", settings)

    settings.ingest_max_pptx_slides = 3
    await _extract(path, "presentation", settings)


def _vtt(*timings: str) -> bytes:
    cues = (f"{timing}\nLine {n}\n" for n, timing in enumerate(timings, start=1))
    return ("WEBVTT\n\n" + "\n".join(cues)).encode()


async def test_subtitles_over_the_cue_limit(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "talk.vtt"
    path.write_bytes(_vtt(*(f"00:00:0{n}.000 --> 00:00:0{n}.500" for n in range(3))))
    settings.ingest_max_subtitle_cues = 2

    with pytest.raises(IngestionError, match=r"^talk.vtt has more than 2 subtitle cues"):
        await _extract(path, "video", settings)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("talk.vtt", _vtt("00:00:01.000 --> 00:00:02.000", "1234567890:00:00.000 --> "
                          "1234567890:00:05.000", "00:00:03.000 --> 00:00:04.000")),
        ("talk.srt", b"1\n00:00:01,000 --> 00:00:02,000\nHello\n\n2\n00:00:03,000 --> "
                     b"00:00:04,000\nStill here\n\n3\n1234567890:00:00,000 --> "
                     b"1234567890:00:05,000\nFar future\n"),
    ],
)  # fmt: skip
async def test_a_cue_with_a_ten_digit_hour_is_refused_with_its_number(
    tmp_path: Path, settings: Settings, name: str, content: bytes
) -> None:
    # webvtt-py reads up to 10-digit hours; one such cue used to break structure generation.
    path = tmp_path / name
    path.write_bytes(content)
    number = 2 if name.endswith(".vtt") else 3

    with pytest.raises(IngestionError, match=rf"^{name}: cue {number} ends at 1234567890:00:05"):
        await _extract(path, "video", settings)


async def test_cues_up_to_24_hours_are_kept(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "marathon.vtt"
    path.write_bytes(_vtt("00:00:01.000 --> 00:00:02.000", "23:59:58.000 --> 24:00:00.000"))

    document = await extract_document(
        "video", path=path, url=None, filename=path.name, settings=settings
    )

    assert [c.ref.end_seconds for c in document.chunks] == [2.0, 86400.0]


def test_structure_timecodes_stay_within_99_59_59() -> None:
    # Structure timecodes live in String(12) columns: an unbounded hour broke PostgreSQL writes.
    assert format_timecode(1234567890 * 3600) == "99:59:59"
    assert format_timecode(-5) == "00:00:00"
    assert format_timecode(3 * 3600 + 61.9) == "03:01:01"
    with pytest.raises(ValueError, match="pattern"):
        TimecodeReference.model_validate(
            {"material_id": "00000000-0000-0000-0000-000000000001", "timecode": "100:00:00"}
        )
