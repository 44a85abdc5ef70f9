"""Reference checking: what the materials do not contain is dropped and counted."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from course_supporter.config import Settings
from course_supporter.ingestion.document import (
    Chunk,
    ChunkKind,
    DocumentMetadata,
    Reference,
    SourceDocument,
)
from course_supporter.ingestion.fetching import FetchedPage
from course_supporter.ingestion.merge import MaterialDocument
from course_supporter.ingestion.web import WebPageProcessor
from course_supporter.structuring.references import drop_missing_references
from course_supporter.structuring.schemas import (
    Concept,
    CourseStructure,
    Lesson,
    Module,
    PageReference,
    SlideReference,
    TimecodeReference,
    WebReference,
)

PDF, DECK, VIDEO, WEB = (uuid.uuid4() for _ in range(4))


def materials() -> list[MaterialDocument]:
    def material(
        material_id: uuid.UUID, kind: str, label: str, chunks: list[Chunk]
    ) -> MaterialDocument:
        return MaterialDocument(
            material_id, kind, label, SourceDocument(source_type=kind, title=label, chunks=chunks)
        )

    return [
        material(
            PDF,
            "text",
            "book.pdf",
            [
                Chunk(
                    kind=ChunkKind.PARAGRAPH,
                    text="Page one on xylem. See https://docs.example.com/a/.",
                    ref=Reference(page=1),
                ),
                Chunk(kind=ChunkKind.PARAGRAPH, text="Page two on xylem.", ref=Reference(page=2)),
            ],
        ),
        material(
            DECK,
            "presentation",
            "deck.pptx",
            [
                Chunk(
                    kind=ChunkKind.SLIDE_TEXT,
                    text=f"Slide {n}: xylem",
                    ref=Reference(slide=n, start_seconds=30.0 * n),
                )
                for n in (1, 2, 3)
            ],
        ),
        material(
            VIDEO,
            "video",
            "talk.mp4",
            [
                Chunk(
                    kind=ChunkKind.TRANSCRIPT,
                    text="Hello, xylem.",
                    ref=Reference(start_seconds=0.0, end_seconds=10.5),
                ),
                Chunk(
                    kind=ChunkKind.TRANSCRIPT,
                    text="Bye, xylem.",
                    ref=Reference(start_seconds=600.0, end_seconds=615.2),
                ),
            ],
        ),
        material(
            WEB,
            "web",
            "https://example.org/guide",
            [Chunk(kind=ChunkKind.WEB_CONTENT, text="Guide to xylem.")],
        ),
    ]


def structure_with(concept: Concept, lesson: Lesson | None = None) -> CourseStructure:
    lesson = lesson or Lesson(title="L")
    lesson.concepts.append(concept)
    return CourseStructure(title="C", modules=[Module(title="M", lessons=[lesson])])


def test_real_references_are_kept() -> None:
    concept = Concept(
        title="Xylem",
        definition="Xylem is a tissue.",
        page_references=[PageReference(material_id=PDF, page=2)],
        slide_references=[SlideReference(material_id=DECK, slide=3)],
        timecodes=[
            TimecodeReference(material_id=VIDEO, timecode="00:10:15"),
            TimecodeReference(material_id=DECK, timecode="00:01:00"),
        ],
        web_references=[
            WebReference(material_id=WEB, url="https://example.org/guide/"),
            WebReference(material_id=PDF, url="https://docs.example.com/a"),
        ],
    )
    structure = structure_with(concept)

    check = drop_missing_references(structure, materials())

    assert check.dropped == 0
    assert check.structure == structure


def test_fake_pages_slides_timecodes_and_urls_are_dropped_and_counted() -> None:
    concept = Concept(
        title="Xylem",
        definition="Xylem is a tissue.",
        page_references=[
            PageReference(material_id=PDF, page=1),
            PageReference(material_id=PDF, page=9),
        ],
        slide_references=[
            SlideReference(material_id=DECK, slide=4),
            SlideReference(material_id=PDF, slide=1),
        ],
        timecodes=[
            TimecodeReference(material_id=VIDEO, timecode="00:10:17"),
            TimecodeReference(material_id=VIDEO, timecode="01:00:00"),
            TimecodeReference(material_id=PDF, timecode="00:00:01"),
        ],
        web_references=[
            WebReference(material_id=WEB, url="https://example.org/elsewhere"),
            WebReference(material_id=uuid.uuid4(), url="https://example.org/guide"),
        ],
    )
    structure = structure_with(concept)

    check = drop_missing_references(structure, materials())

    kept = check.structure.modules[0].lessons[0].concepts[0]
    assert check.dropped == 7
    assert len(check.dropped_details) == 7
    assert kept.page_references == [PageReference(material_id=PDF, page=1)]
    assert kept.slide_references == [] and kept.web_references == []
    assert kept.timecodes == [TimecodeReference(material_id=VIDEO, timecode="00:10:17")]
    assert (
        structure.modules[0].lessons[0].concepts[0].page_references[1].page == 9
    )  # input untouched


def test_lesson_ranges_outside_the_material_are_cleared() -> None:
    lesson = Lesson(
        title="L",
        video_material_id=VIDEO,
        video_start="00:05:00",
        video_end="02:00:00",
        slides_material_id=DECK,
        slide_start=2,
        slide_end=3,
    )
    ghost = Lesson(title="G", video_material_id=uuid.uuid4(), video_start="00:00:01", slide_start=1)
    structure = structure_with(Concept(title="X", definition="d"), lesson)
    structure.modules[0].lessons.append(ghost)

    check = drop_missing_references(structure, materials())

    checked, checked_ghost = check.structure.modules[0].lessons
    assert check.dropped == 3
    assert (checked.video_start, checked.video_end) == ("00:05:00", None)
    assert (checked.slide_start, checked.slide_end) == (2, 3)
    assert checked_ghost.video_start is None and checked_ghost.video_material_id is None
    assert checked_ghost.slide_start is None


def test_references_whose_location_lacks_the_term_are_dropped_and_counted() -> None:
    site = MaterialDocument(
        uuid.uuid4(),
        "text",
        "ch04-01-ownership.html",
        SourceDocument(
            source_type="text",
            title="Ownership",
            chunks=[
                Chunk(
                    kind=ChunkKind.PARAGRAPH,
                    text="Ownership is a set of rules.",
                    ref=Reference(anchor="what-is-ownership"),
                ),
                Chunk(
                    kind=ChunkKind.PARAGRAPH,
                    text="The stack stores values in order.",
                    ref=Reference(anchor="the-stack"),
                ),
            ],
        ),
    )
    real = [*materials(), site]
    concept = Concept(
        title="Ownership",
        definition="Ownership is a set of rules.",
        page_references=[PageReference(material_id=PDF, page=2)],
        slide_references=[SlideReference(material_id=DECK, slide=1)],
        timecodes=[TimecodeReference(material_id=VIDEO, timecode="00:00:05")],
        web_references=[
            WebReference(material_id=site.material_id, url="ch04-01-ownership.html#the-stack"),
            WebReference(
                material_id=site.material_id, url="ch04-01-ownership.html#what-is-ownership"
            ),
        ],
    )

    check = drop_missing_references(structure_with(concept), real)

    kept = check.structure.modules[0].lessons[0].concepts[0]
    assert (check.dropped, check.without_term) == (4, 4)
    assert [r.url for r in kept.web_references] == ["ch04-01-ownership.html#what-is-ownership"]
    assert not (kept.page_references or kept.slide_references or kept.timecodes)
    assert all("the term is not there" in d for d in check.dropped_details)


def test_a_redirected_page_is_cited_by_the_given_and_the_final_url() -> None:
    given, final = "https://example.org/old-guide", "https://example.org/guide/v2/"
    page = FetchedPage(
        url=final,
        content_type="text/html",
        charset="utf-8",
        body=b"<html><body><main><h1 id='phloem'>Phloem</h1>"
        b"<p>Phloem carries sugars through the plant, downwards and upwards.</p>"
        b"<p>Each sieve tube of phloem has companion cells beside it.</p></main></body></html>",
    )
    document = WebPageProcessor(Settings(_env_file=None)).reduce(page, given)
    assert (document.metadata.source_url, document.metadata.final_url) == (given, final)
    material = MaterialDocument(WEB, "web", given, document)
    concept = Concept(
        title="Phloem",
        definition="Phloem carries sugars.",
        web_references=[
            WebReference(material_id=WEB, url=final),
            WebReference(material_id=WEB, url=given),
            WebReference(material_id=WEB, url=f"{final}#phloem"),
            WebReference(material_id=WEB, url="https://example.org/guide/v1/"),
        ],
    )

    check = drop_missing_references(structure_with(concept), [material])

    kept = check.structure.modules[0].lessons[0].concepts[0].web_references
    assert [ref.url for ref in kept] == [final, given, f"{final}#phloem"]
    assert check.dropped == 1


def test_slide_count_and_duration_vouch_for_slides_and_times_without_text() -> None:
    deck = MaterialDocument(
        DECK,
        "presentation",
        "deck.pptx",
        SourceDocument(
            source_type="presentation",
            title="Deck",
            chunks=[Chunk(kind=ChunkKind.SLIDE_TEXT, text="Xylem", ref=Reference(slide=1))],
            metadata=DocumentMetadata(slide_count=4),  # slides 2-4 are pictures only
        ),
    )
    talk = MaterialDocument(
        VIDEO,
        "video",
        "talk.mp4",
        SourceDocument(
            source_type="video",
            title="Talk",
            chunks=[
                Chunk(
                    kind=ChunkKind.TRANSCRIPT,
                    text="Xylem.",
                    ref=Reference(start_seconds=5.0, end_seconds=9.0),
                )
            ],
            metadata=DocumentMetadata(duration_seconds=1200.0),  # then silence
        ),
    )
    lesson = Lesson(
        title="L",
        video_material_id=VIDEO,
        video_start="00:00:00",
        video_end="00:20:00",
        slides_material_id=DECK,
        slide_start=1,
        slide_end=4,
    )

    check = drop_missing_references(
        structure_with(Concept(title="X", definition="d"), lesson), [deck, talk]
    )

    checked = check.structure.modules[0].lessons[0]
    assert check.dropped == 0
    assert (checked.video_start, checked.video_end) == ("00:00:00", "00:20:00")
    assert (checked.slide_start, checked.slide_end) == (1, 4)


def test_documents_stored_under_the_earlier_metadata_names_still_load() -> None:
    stored = {
        "source_type": "text",
        "title": "Old",
        "metadata": {
            "filename": "old.md",
            "pages": 12,
            "slides": 3,
            "url": "https://example.org/a",
            "audio_seconds": 61.5,
            "front_matter_section": 1,
            "characters": 40,
        },
    }
    metadata = SourceDocument.model_validate(stored).metadata
    assert metadata == DocumentMetadata(
        filename="old.md",
        page_count=12,
        slide_count=3,
        source_url="https://example.org/a",
        duration_seconds=61.5,
        front_matter={"section": 1},
        characters=40,
    )
    # What is stored now holds only the fields that apply.
    assert metadata.model_dump(mode="json") == {
        "filename": "old.md",
        "characters": 40,
        "source_url": "https://example.org/a",
        "page_count": 12,
        "slide_count": 3,
        "duration_seconds": 61.5,
        "front_matter": {"section": 1},
    }
    with pytest.raises(ValidationError):
        DocumentMetadata.model_validate({"page_cuont": 3})
