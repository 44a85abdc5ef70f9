"""Course context: stable material order and slide chunks stamped with video timecodes."""

from __future__ import annotations

import uuid
from dataclasses import replace

from course_supporter.ingestion.document import Chunk, ChunkKind, Reference, SourceDocument
from course_supporter.ingestion.merge import MaterialDocument, build_course_context


def _material(number: str, source_type: str, chunks: list[Chunk]) -> MaterialDocument:
    document = SourceDocument(source_type=source_type, title=number, chunks=chunks)
    material_id = uuid.UUID(int=int(number))
    return MaterialDocument(material_id, source_type, f"{number}.x", document)


def _deck() -> MaterialDocument:
    return _material(
        "0003",
        "presentation",
        [
            Chunk(kind=ChunkKind.HEADING, text="Intro", ref=Reference(slide=1, heading_level=1)),
            Chunk(kind=ChunkKind.SLIDE_TEXT, text="Welcome", ref=Reference(slide=1)),
            Chunk(kind=ChunkKind.SPEAKER_NOTES, text="Smile", ref=Reference(slide=1)),
            Chunk(kind=ChunkKind.SLIDE_TEXT, text="Unmapped", ref=Reference(slide=2)),
            Chunk(kind=ChunkKind.SLIDE_TEXT, text="Later", ref=Reference(slide=3)),
        ],
    )


def test_materials_keep_the_tenants_order_never_the_source_type() -> None:
    web = _material("0001", "web", [])
    text_b = _material("0005", "text", [])
    text_a = _material("0002", "text", [])
    video = _material("0009", "video", [])
    deck = _deck()
    first = build_course_context([web, text_b, deck, text_a, video], {})
    second = build_course_context([video, text_a, web, deck, text_b], {})
    order = [m.material_id for m in first.materials]
    # Upload order (ids are time-ordered): the video uploaded last stays last.
    assert order == [uuid.UUID(int=n) for n in (1, 2, 3, 5, 9)]
    assert [m.material_id for m in second.materials] == order


def test_an_explicit_position_comes_before_upload_order() -> None:
    intro = replace(_material("0009", "text", []), position=0)
    lecture = replace(_material("0005", "video", []), position=1)
    unplaced = _material("0001", "web", [])
    context = build_course_context([unplaced, lecture, intro], {})
    assert [m.material_id.int for m in context.materials] == [9, 5, 1]


def test_mapped_slides_get_the_video_start_time_and_inputs_stay_untouched() -> None:
    deck = _deck()
    context = build_course_context([deck], {1: 65.0, 3: 300.5, 7: 900.0})
    chunks = context.materials[0].document.chunks
    assert [(c.text, c.ref.start_seconds) for c in chunks] == [
        ("Intro", 65.0),
        ("Welcome", 65.0),
        ("Smile", 65.0),
        ("Unmapped", None),
        ("Later", 300.5),
    ]
    assert context.slide_video_mappings == {1: 65.0, 3: 300.5, 7: 900.0}
    assert all(c.ref.start_seconds is None for c in deck.document.chunks)


def test_transcripts_and_texts_are_not_touched_by_slide_mappings() -> None:
    video = _material(
        "0001",
        "video",
        [Chunk(kind=ChunkKind.TRANSCRIPT, text="hi", ref=Reference(start_seconds=1.0, slide=1))],
    )
    context = build_course_context([video], {1: 50.0})
    assert context.materials[0].document.chunks[0].ref.start_seconds == 1.0
    assert context.documents_of("video") == [video.document]
    assert context.materials[0].label == "0001.x"
