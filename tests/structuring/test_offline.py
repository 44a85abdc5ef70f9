"""The offline structurer on the Markdown tutorial, a slide deck, a transcript and a PDF."""

from __future__ import annotations

import uuid

from course_supporter.ingestion.document import Chunk, ChunkKind, Reference, SourceDocument
from course_supporter.ingestion.merge import MaterialDocument
from course_supporter.structuring.evals import evaluate
from course_supporter.structuring.offline import structure_offline
from course_supporter.structuring.references import drop_missing_references
from course_supporter.structuring.schemas import Concept, CourseStructure

from .conftest import markdown_document

MINIMUM_OVERALL_SCORE = 0.85


def concept(structure: CourseStructure, title: str) -> Concept:
    return next(
        c
        for m in structure.modules
        for lesson in m.lessons
        for c in lesson.concepts
        if c.title == title
    )


def test_one_module_per_chapter_in_order_with_sections_as_lessons(
    tutorial: list[MaterialDocument],
) -> None:
    structure = structure_offline(tutorial, title="Version Control with Git")

    assert structure.title == "Version Control with Git"
    assert [m.title for m in structure.modules] == [
        "Getting Started with Git",
        "Recording Changes",
        "Branching and Merging",
        "Working with Remotes",
    ]
    assert [lesson.title for lesson in structure.modules[2].lessons] == [
        "Creating Branches",
        "Merging Branches",
        "Rebasing",
    ]
    assert [m.difficulty for m in structure.modules] == ["easy", "easy", "medium", "hard"]


def test_definition_is_the_sentence_that_introduces_the_term(
    tutorial: list[MaterialDocument],
) -> None:
    structure = structure_offline(tutorial)

    assert concept(structure, "Branch").definition == "A branch is a movable pointer to a commit."
    assert concept(structure, "Upstream branch").definition == (
        "An upstream branch is the remote branch that a local branch tracks."
    )
    assert concept(structure, "Repository").examples == [
        "For example, the source code of a web shop and all its past versions "
        "live in one repository."
    ]


def test_each_concept_appears_once_and_has_exercises(tutorial: list[MaterialDocument]) -> None:
    structure = structure_offline(tutorial)
    titles = [c.title for m in structure.modules for lesson in m.lessons for c in lesson.concepts]

    assert len(titles) == len(set(titles))
    for module in structure.modules:
        assert module.description and module.learning_goal and module.expected_knowledge
        for lesson in module.lessons:
            if lesson.concepts:
                assert lesson.exercises
            for exercise in lesson.exercises:
                assert 1 <= exercise.difficulty <= 5 and exercise.reference_solution


def test_output_is_deterministic(tutorial: list[MaterialDocument]) -> None:
    first = structure_offline(tutorial).model_dump_json()
    assert all(structure_offline(tutorial).model_dump_json() == first for _ in range(3))


def test_meets_the_minimum_score_against_the_reference(
    tutorial: list[MaterialDocument], tutorial_reference: CourseStructure
) -> None:
    report = evaluate(structure_offline(tutorial), tutorial_reference)

    assert report.modules.recall == 1.0 and report.module_order_tau == 1.0
    assert report.lessons.recall == 1.0
    assert report.concepts.recall >= 0.8 and report.concepts.precision >= 0.8
    assert report.overall >= MINIMUM_OVERALL_SCORE


def test_single_book_file_splits_into_one_module_per_chapter() -> None:
    book = "\n\n".join(
        f"## Chapter {n}\n\nIntro {n}.\n\n### Part {n}.1\n\nA widget{n} is a small tool.\n\n"
        f"### Part {n}.2\n\nA gadget{n} is a larger tool."
        for n in range(1, 4)
    )
    document = markdown_document(f"# The Book\n\nPreface.\n\n{book}", "book")
    structure = structure_offline([MaterialDocument(uuid.uuid4(), "text", "book.md", document)])

    assert [m.title for m in structure.modules] == ["Chapter 1", "Chapter 2", "Chapter 3"]
    assert [lesson.title for lesson in structure.modules[1].lessons] == ["Part 2.1", "Part 2.2"]


def deck() -> MaterialDocument:
    chunks = []
    titles = ["Caching", "Why caches", "Cache hits", "Eviction", "Summary"]
    for slide, title in enumerate(titles, 1):
        start = 60.0 * slide
        body = {
            2: "A cache is a small fast store that keeps copies of data.",
            3: "A cache hit is a request served from the cache.",
            4: "An eviction policy is the rule that decides which entry leaves the cache.",
        }.get(slide, "")
        chunks.append(
            Chunk(
                kind=ChunkKind.SLIDE_TEXT,
                text=f"{title}\n{body}".strip(),
                ref=Reference(slide=slide, start_seconds=start),
            )
        )
    document = SourceDocument(source_type="presentation", title="Caching", chunks=chunks)
    return MaterialDocument(uuid.uuid4(), "presentation", "caching.pptx", document)


def test_slides_give_lessons_with_slide_ranges_and_real_references() -> None:
    material = deck()
    structure = structure_offline([material])
    lessons = structure.modules[0].lessons

    assert lessons[0].title == "Caching"
    assert (lessons[0].slide_start, lessons[-1].slide_end) == (1, 5)
    assert lessons[0].video_start == "00:01:00"
    cache = concept(structure, "Cache")
    # Defined on slide 2, mentioned on 3 and 4.
    assert [(r.material_id, r.slide) for r in cache.slide_references] == [
        (material.material_id, 2),
        (material.material_id, 3),
        (material.material_id, 4),
    ]
    assert cache.timecodes[0].timecode == "00:02:00"
    assert drop_missing_references(structure, [material]).dropped == 0


def transcript() -> MaterialDocument:
    sentences = [
        "Welcome to the talk about sorting.",
        "Merge sort is a divide and conquer algorithm that splits the list in halves.",
        "It then merges the sorted halves.",
        "Quicksort is an algorithm that partitions around a pivot.",
        "A pivot is the element that the list is partitioned around.",
    ]
    chunks = [
        Chunk(
            kind=ChunkKind.TRANSCRIPT,
            text=text,
            ref=Reference(start_seconds=n * 200.0, end_seconds=n * 200.0 + 30),
        )
        for n, text in enumerate(sentences)
    ]
    document = SourceDocument(source_type="video", title="Sorting talk", chunks=chunks)
    return MaterialDocument(uuid.uuid4(), "video", "sorting.mp4", document)


def test_transcript_segments_become_timed_lessons() -> None:
    material = transcript()
    structure = structure_offline([material])
    lessons = structure.modules[0].lessons

    assert structure.modules[0].title == "Sorting talk"
    assert [(lesson.video_start, lesson.video_end) for lesson in lessons] == [
        ("00:00:00", "00:03:50"),
        ("00:06:40", "00:10:30"),
        ("00:13:20", "00:13:50"),
    ]
    assert concept(structure, "Pivot").timecodes[0].timecode == "00:13:20"
    assert drop_missing_references(structure, [material]).dropped == 0


def test_pdf_pages_and_web_urls_are_cited() -> None:
    pdf = SourceDocument(
        source_type="text",
        title="Networks",
        chunks=[
            Chunk(
                kind=ChunkKind.PARAGRAPH,
                text="A router is a device that forwards packets.",
                ref=Reference(page=3),
            ),
            Chunk(
                kind=ChunkKind.PARAGRAPH, text="Every router keeps a table.", ref=Reference(page=4)
            ),
        ],
    )
    web = SourceDocument(
        source_type="web",
        title="DNS explained",
        chunks=[
            Chunk(kind=ChunkKind.WEB_CONTENT, text="DNS is a system that maps names to addresses.")
        ],
    )
    materials = [
        MaterialDocument(uuid.uuid4(), "text", "networks.pdf", pdf),
        MaterialDocument(uuid.uuid4(), "web", "https://example.org/dns", web),
    ]
    structure = structure_offline(materials)

    assert [r.page for r in concept(structure, "Router").page_references] == [3, 4]
    assert [r.url for r in concept(structure, "DNS").web_references] == ["https://example.org/dns"]
    assert drop_missing_references(structure, materials).dropped == 0


def test_bold_terms_and_named_terms_are_concepts() -> None:
    text = (
        "# Storage\n\n## Basics\n\nData lives on **disks**. Disks spin or not.\n\n"
        "A disk without moving parts is called a solid state drive. It is fast."
    )
    material = MaterialDocument(uuid.uuid4(), "text", "s.md", markdown_document(text, "s"))
    material.document.chunks[2].text = "Data lives on **disks**. Disks spin or not."
    structure = structure_offline([material])

    titles = [c.title for c in structure.modules[0].lessons[0].concepts]
    assert titles == ["Solid state drive", "Disks"]


def test_a_hundred_thousand_word_course_gives_a_module_per_chapter() -> None:
    """Its time is measured by benchmarks/structure.py, not here."""
    paragraph = (
        "A {t} is a component that stores values for the Runtime Engine. "
        "The {t} works with the Runtime Engine in every case, for example in batch jobs. "
        "Developers tune it carefully and measure the effect on latency and throughput."
    )
    materials = []
    for chapter in range(20):
        chunks = [
            Chunk(kind=ChunkKind.HEADING, text=f"Chapter {chapter}", ref=Reference(heading_level=1))
        ]
        for section in range(10):
            chunks.append(
                Chunk(
                    kind=ChunkKind.HEADING,
                    text=f"Section {section}",
                    ref=Reference(heading_level=2),
                )
            )
            for n in range(15):
                term = f"widget{chapter}x{section}x{n % 5}"
                chunks.append(Chunk(kind=ChunkKind.PARAGRAPH, text=paragraph.format(t=term)))
        document = SourceDocument(source_type="text", title=f"Chapter {chapter}", chunks=chunks)
        materials.append(MaterialDocument(uuid.uuid4(), "text", f"{chapter}.md", document))
    words = sum(len(c.text.split()) for m in materials for c in m.document.chunks)
    assert words >= 100_000

    structure = structure_offline(materials)

    assert len(structure.modules) == 20
