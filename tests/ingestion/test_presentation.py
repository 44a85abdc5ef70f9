"""Presentations: PDF pages and PPTX slides with their speaker notes."""

from __future__ import annotations

from pathlib import Path

import pytest
from pptx import Presentation

from course_supporter.config import Settings
from course_supporter.ingestion.document import ChunkKind, SourceDocument
from course_supporter.ingestion.errors import IngestionError
from course_supporter.ingestion.extract import extract_document
from tests.ingestion.conftest import pdf_bytes


async def _extract(path: Path, settings: Settings, filename: str | None = None) -> SourceDocument:
    return await extract_document(
        "presentation", path=path, url=None, filename=filename or path.name, settings=settings
    )


async def test_deck_exported_to_pdf_is_cited_by_slide_only(
    pdf_file: Path, settings: Settings
) -> None:
    document = await _extract(pdf_file, settings)
    assert [(c.kind, c.text, c.ref.page, c.ref.slide) for c in document.chunks] == [
        (ChunkKind.HEADING, "Cell biology", None, 1),
        (ChunkKind.SLIDE_TEXT, "The cell is the unit of life", None, 1),
        (ChunkKind.HEADING, "Mitochondria", None, 2),
        (ChunkKind.SLIDE_TEXT, "Mitochondria produce ATP (energy)", None, 2),
        (ChunkKind.HEADING, "Summary", None, 3),
        (ChunkKind.SLIDE_TEXT, "Cells, organelles and energy", None, 3),
    ]
    assert document.source_type == "presentation"
    assert document.metadata.layout == "slides"
    assert document.metadata.slide_count == 3
    assert document.title == "Cell biology"  # the first slide's title


async def test_pdf_blank_pages_are_skipped_but_numbering_kept(
    tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "gaps.pdf"
    path.write_bytes(pdf_bytes([["One"], [], ["Three"]]))
    document = await _extract(path, settings)
    assert [(c.text, c.ref.page) for c in document.chunks] == [("One", 1), ("Three", 3)]


async def test_pdf_without_any_text_layer_explains_ocr(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(pdf_bytes([[], []]))
    with pytest.raises(IngestionError, match="no text layer"):
        await _extract(path, settings)


async def test_encrypted_pdf_asks_for_an_unencrypted_copy(
    tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "locked.pdf"
    path.write_bytes(pdf_bytes([["secret"]], encrypted=True))
    with pytest.raises(IngestionError, match="encrypted") as caught:
        await _extract(path, settings)
    assert caught.value.transient is False
    assert "unencrypted copy" in caught.value.message


async def test_corrupted_pdf_is_a_permanent_error(
    tmp_path: Path, pdf_file: Path, settings: Settings
) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 20)
    with pytest.raises(IngestionError, match="damaged") as caught:
        await _extract(path, settings)
    assert caught.value.transient is False
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(pdf_file.read_bytes()[:60])
    with pytest.raises(IngestionError):
        await _extract(truncated, settings)


async def test_pptx_titles_body_and_notes_per_slide(pptx_file: Path, settings: Settings) -> None:
    document = await _extract(pptx_file, settings)
    assert document.title == "Intro to Genetics"
    assert [(c.kind.value, c.text, c.ref.slide) for c in document.chunks] == [
        ("heading", "DNA", 1),
        ("slide_text", "DNA stores genetic information\nIt is a double helix", 1),
        ("speaker_notes", "Mention Crick", 1),
        ("heading", "Genes", 2),
        ("slide_text", "A gene codes for a protein\nFootnote: genes live on chromosomes", 2),
        ("heading", "Mutations", 3),
        ("slide_text", "Mutations change the sequence", 3),
        ("speaker_notes", "Ask the class for examples", 3),
    ]
    assert document.metadata.slide_count == 3


async def test_pptx_that_is_not_a_zip(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "deck.pptx"
    path.write_bytes(b"PowerPoint 97 binary? no, just bytes" * 10)
    with pytest.raises(IngestionError, match=r"not a valid PPTX file .*not a zip"):
        await _extract(path, settings)


async def test_pptx_zip_bomb_is_refused(zip_bomb_docx: Path, settings: Settings) -> None:
    with pytest.raises(IngestionError, match="zip bomb"):
        await _extract(zip_bomb_docx, settings, filename="bomb.pptx")


async def test_docx_renamed_to_pptx_is_not_readable(docx_file: Path, settings: Settings) -> None:
    with pytest.raises(IngestionError, match="not a readable PowerPoint file"):
        await _extract(docx_file, settings, filename="slides.pptx")


async def test_presentation_from_url_is_refused(settings: Settings) -> None:
    with pytest.raises(IngestionError, match="uploaded as files"):
        await extract_document(
            "presentation",
            path=None,
            url="https://example.com/d.pdf",
            filename="",
            settings=settings,
        )


async def test_pptx_titled_slides_are_sections_and_continuations_group(
    tmp_path: Path, settings: Settings
) -> None:
    deck = Presentation()
    layouts = {"title": 0, "content": 1, "section": 2}
    slides = [
        ("title", "Genetics 101", "Spring term"),
        ("section", "Inheritance", ""),
        ("content", "Mendel's laws", "Traits come in pairs"),
        ("content", "Mendel's laws (cont.)", "Alleles segregate"),
        ("content", "Punnett squares", "A grid of crosses"),
        ("section", "Molecular genetics", ""),
        ("content", "DNA", "A double helix"),
        ("content", "DNA \u2013 continued", "Base pairs A-T, G-C"),
    ]
    for layout, title, body in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[layouts[layout]])
        slide.shapes.title.text = title
        if body:
            slide.placeholders[1].text_frame.text = body
    path = tmp_path / "genetics.pptx"
    deck.save(str(path))
    document = await _extract(path, settings)
    assert document.title == "Genetics 101"
    assert [(c.text, c.ref.heading_level, c.ref.slide) for c in document.chunks
            if c.kind is ChunkKind.HEADING] == [
        ("Inheritance", 1, 2),
        ("Mendel's laws", 2, 3),
        ("Punnett squares", 2, 5),
        ("Molecular genetics", 1, 6),
        ("DNA", 2, 7),
    ]  # fmt: skip
    assert [c.ref.slide for c in document.chunks if c.kind is ChunkKind.SLIDE_TEXT] == [
        1, 3, 4, 5, 7, 8]  # fmt: skip
