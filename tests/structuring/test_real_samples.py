"""Shipped samples made to look like the real corpora, through what `build` does (ingestion,
then the structurer) and held to the real-materials targets."""

from __future__ import annotations

from pathlib import Path

from course_supporter.config import Settings
from course_supporter.db import new_id
from course_supporter.ingestion.extract import extract_document
from course_supporter.ingestion.merge import MaterialDocument, build_course_context
from course_supporter.llm.router import CallLog
from course_supporter.llm.strategy import Strategy
from course_supporter.structuring.architect import generate_structure
from course_supporter.structuring.quality import QualityReport, assess, misses
from course_supporter.structuring.schemas import CourseStructure
from tests.structuring.reference_manual import ENTRIES, reference_manual_pdf

LECTURE = Path(__file__).parents[1] / "data" / "ingestion" / "http-caching-lecture.vtt"
LECTURE_OUTLINE = [
    "HTTP caching",
    "The Cache-Control header",
    "Validation with ETags",
    "Invalidating cached responses",
]


async def build(path: Path, source_type: str) -> tuple[CourseStructure, QualityReport, str]:
    settings = Settings(_env_file=None, whisper_model_path=None)
    document = await extract_document(
        source_type, path=path, url=None, filename=path.name, settings=settings
    )
    material = MaterialDocument(new_id(), source_type, path.name, document)
    context = build_course_context([material], {})
    result = await generate_structure(
        context.materials, settings=settings, recorder=CallLog(), strategy=Strategy.DEFAULT
    )
    outline = LECTURE_OUTLINE if source_type == "video" else ["Overview", *ENTRIES]
    report = assess(
        result.structure, outline, references_without_term=result.references_without_term
    )
    return result.structure, report, document.title


async def test_a_lecture_gives_the_lessons_its_speaker_announces() -> None:
    structure, report, title = await build(LECTURE, "video")

    assert misses(report) == []
    assert report.outline_found == len(LECTURE_OUTLINE)
    # Titled by what the lecture announces, not by the file name.
    assert title == "HTTP caching"
    [module] = structure.modules
    assert module.title == "HTTP caching"
    lessons = module.lessons
    assert [lesson.title for lesson in lessons] == LECTURE_OUTLINE
    assert [(lesson.video_start, lesson.video_end) for lesson in lessons] == [
        ("00:00:00", "00:01:02"),
        ("00:01:06", "00:02:01"),
        ("00:02:05", "00:02:54"),
        ("00:02:57", "00:03:47"),
    ]
    concepts = {c.title: c for lesson in lessons for c in lesson.concepts}
    # What the speaker defines ("X is …", "we call this …", "X means …"), cited at its cue.
    assert concepts["ETag"].definition.startswith("An ETag is an identifier the server gives")
    assert concepts["Conditional request"].definition == (
        "It can ask the server whether the stored copy is still the current one. "
        "We call this a conditional request."
    )
    assert concepts["Cache busting"].definition.startswith("Cache busting means putting")
    assert [t.timecode for t in concepts["Conditional request"].timecodes] == ["00:02:21"]
    # A signpost names what comes; it defines nothing.
    definitions = [c.definition for c in concepts.values()]
    assert not any("let's" in d for d in definitions)


async def test_a_function_reference_teaches_the_functions_by_name(tmp_path: Path) -> None:
    path = tmp_path / "libkv.pdf"
    path.write_bytes(reference_manual_pdf())
    structure, report, _ = await build(path, "text")

    assert misses(report) == []
    overview, reference = structure.modules
    assert [c.title for c in overview.lessons[0].concepts] == ["Store", "Record"]
    for lesson, entries in zip(reference.lessons, ENTRIES.values(), strict=True):
        concepts = {c.title: c for c in lesson.concepts}
        assert list(concepts) == [entry[0] for entry in entries]
        for name, _, _, description, _ in entries:
            assert concepts[name].definition == description
    kv_get = next(c for lesson in reference.lessons for c in lesson.concepts if c.title == "kv_get")
    assert [p.page for p in kv_get.page_references] == [5]
    # Its exercises ask for a call, graded on the signature's arguments and listed results.
    exercise = next(e for e in reference.lessons[1].exercises if "kv_get" in e.description)
    assert "int kv_get (kv_store * store, const char * key" in exercise.description
    assert any("store, key, value and len" in c for c in exercise.grading_criteria)
    assert any("KV_NOT_FOUND otherwise" in c for c in exercise.grading_criteria)
