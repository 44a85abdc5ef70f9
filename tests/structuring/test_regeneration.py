"""The merge that keeps edits: pure trees in, pure trees out."""

from __future__ import annotations

import uuid

from course_supporter.ingestion.document import Chunk, ChunkKind, Reference, SourceDocument
from course_supporter.ingestion.merge import MaterialDocument
from course_supporter.structuring.regeneration import (
    merge_course,
    merge_lesson,
    merge_module,
    part_materials,
)
from course_supporter.structuring.schemas import StructureNode


def concept(title: str, origin: str = "generated", stored: bool = True) -> StructureNode:
    return StructureNode(
        "concept",
        {"title": title, "definition": f"{title} is defined."},
        origin,
        uuid.uuid4() if stored else None,
    )


def lesson(
    title: str, *items: StructureNode, origin: str = "generated", stored: bool = True
) -> StructureNode:
    return StructureNode(
        "lesson", {"title": title}, origin, uuid.uuid4() if stored else None, list(items)
    )


def module(
    title: str, *lessons: StructureNode, origin: str = "generated", stored: bool = True
) -> StructureNode:
    return StructureNode(
        "module", {"title": title}, origin, uuid.uuid4() if stored else None, list(lessons)
    )


def fresh(title: str, *items: StructureNode) -> StructureNode:
    return lesson(title, *items, stored=False)


def titles(nodes: list[StructureNode]) -> list[str]:
    return [n.fields["title"] for n in nodes]


def test_generated_items_are_replaced_and_edited_ones_kept_in_place() -> None:
    edited = concept("Loops (fixed)", "edited")
    current = module("M", lesson("L", concept("A"), edited, concept("C")))
    new = [module("M", fresh("L", *(concept(t, stored=False) for t in "XYZW")), stored=False)]
    merged = merge_module(current, new)
    assert merged is not None and merged.id == current.id
    (only,) = merged.children
    assert only.id == current.children[0].id  # holds an edit: same lesson
    assert titles(only.children) == ["X", "Loops (fixed)", "Z", "W"]
    assert only.children[1] is not edited and only.children[1].id == edited.id
    assert [c.id is None for c in only.children] == [True, False, True, True]


def test_an_edited_item_with_the_same_title_stands_in_for_its_fresh_twin() -> None:
    edited = concept("B", "edited")
    current = lesson("L", concept("A"), edited)
    new = [module("M", fresh("L", concept("A", stored=False), concept("B", stored=False)))]
    merged = merge_lesson(current, new)
    assert merged is not None
    assert titles(merged.children) == ["A", "B"]
    assert merged.children[1].id == edited.id
    assert merged.children[1].fields["definition"] == "B is defined."


def test_authored_items_pair_with_nothing_and_stay() -> None:
    mine = concept("Mine", "authored")
    current = lesson("L", mine, concept("A"))
    new = [module("M", fresh("L", concept("A", stored=False), concept("N", stored=False)))]
    merged = merge_lesson(current, new)
    assert merged is not None
    assert titles(merged.children) == ["Mine", "A", "N"]
    assert merged.children[0].id == mine.id


def test_tombstoned_items_do_not_come_back() -> None:
    current = lesson("L", concept("A"))
    new = [module("M", fresh("L", concept("Gone", stored=False), concept("A", stored=False)))]
    merged = merge_lesson(
        current, new, tombstoned=lambda n: n.kind == "concept" and n.key_text == "Gone"
    )
    assert merged is not None
    assert titles(merged.children) == ["A"]


def test_no_empty_generated_containers_and_edited_lessons_survive_empty() -> None:
    kept = lesson("Edited", concept("old"), origin="edited")
    current = [module("M1", lesson("G", concept("g")), kept)]
    new = [
        module("M1", fresh("G", concept("g2", stored=False)), stored=False),
        module("Empty", fresh("Nothing"), stored=False),
    ]
    merged = merge_course(current, new)
    assert titles(merged) == ["M1"]
    (m1,) = merged
    assert m1.id == current[0].id  # holds the edited lesson
    assert titles(m1.children) == ["G", "Edited"]
    assert m1.children[1].id == kept.id and m1.children[1].children == []


def test_an_unchanged_regeneration_keeps_every_id() -> None:
    current = [module("M", lesson("L", concept("A")))]
    new = [module("M", fresh("L", concept("A", stored=False)), stored=False)]
    (m,) = merge_course(current, new)
    assert m.id == current[0].id
    assert m.children[0].id == current[0].children[0].id
    assert m.children[0].children[0].id == current[0].children[0].children[0].id


def test_places_keep_their_ids_and_replaced_concepts_get_new_ones() -> None:
    current = [module("M", lesson("L", concept("A"), concept("B")))]
    regenerated = fresh("L renamed", concept("A", stored=False), concept("C", stored=False))
    (m,) = merge_course(current, [module("M2", regenerated, stored=False)])
    (only,) = m.children
    assert m.id == current[0].id and m.fields["title"] == "M2"
    assert only.id == current[0].children[0].id and only.fields["title"] == "L renamed"
    a, c = only.children
    assert a.id == current[0].children[0].children[0].id
    assert c.fields["title"] == "C" and c.id is None  # another concept: a new id when saved


def test_a_module_regeneration_that_yields_nothing_keeps_only_the_edits() -> None:
    edited = lesson("Mine", concept("x"), origin="authored")
    current = module("M", lesson("G", concept("g")), edited, origin="edited")
    merged = merge_module(current, [])
    assert merged is not None
    assert merged.fields == {"title": "M"} and merged.origin == "edited"
    assert [c.id for c in merged.children] == [edited.id]


def test_a_generated_part_that_regenerates_to_nothing_is_none() -> None:
    current = module("M", lesson("G", concept("g")))
    assert merge_module(current, []) is None


def _material(*chunks: Chunk) -> MaterialDocument:
    return MaterialDocument(uuid.uuid4(), "text", "notes.pdf", SourceDocument(
        source_type="text", title="Notes", chunks=list(chunks)
    ))  # fmt: skip


def test_part_materials_keep_the_sections_behind_the_part() -> None:
    heading = ChunkKind.HEADING
    material = _material(
        Chunk(kind=heading, text="Basics", ref=Reference(heading_level=1, page=1)),
        Chunk(kind=ChunkKind.PARAGRAPH, text="About basics.", ref=Reference(page=1)),
        Chunk(kind=heading, text="2 Branching", ref=Reference(heading_level=1, page=2)),
        Chunk(kind=heading, text="Merging", ref=Reference(heading_level=2, page=3)),
        Chunk(kind=ChunkKind.PARAGRAPH, text="About merging.", ref=Reference(page=3)),
        Chunk(kind=heading, text="Rebasing", ref=Reference(heading_level=2, page=4)),
        Chunk(kind=ChunkKind.PARAGRAPH, text="About rebasing.", ref=Reference(page=4)),
    )
    by_title = lesson("Merging", concept("Merge"))
    (cut,) = part_materials(by_title, [material])
    assert [c.text for c in cut.document.chunks] == ["2 Branching", "Merging", "About merging."]

    ref = {"material_id": str(material.material_id), "page": 4}
    by_page = lesson("Renamed by the author", origin="edited")
    by_page.children.append(StructureNode("concept", {"title": "Rebase", "page_references": [ref]}))
    (cut,) = part_materials(by_page, [material])
    assert [c.text for c in cut.document.chunks] == [
        "2 Branching",
        "Rebasing",
        "About rebasing.",
    ]
    assert part_materials(lesson("Elsewhere"), [material]) == []


def test_an_edited_lesson_of_an_uploaded_page_finds_its_sections_by_anchor() -> None:
    heading, text = ChunkKind.HEADING, ChunkKind.PARAGRAPH
    page = MaterialDocument(uuid.uuid4(), "text", "ch03-01-variables.html", SourceDocument(
        source_type="text", title="Variables", chunks=[
            Chunk(kind=heading, text="Variables", ref=Reference(heading_level=1, anchor="vars")),
            Chunk(kind=text, text="Variables are immutable.", ref=Reference(anchor="vars")),
            Chunk(kind=heading, text="Shadowing", ref=Reference(heading_level=2, anchor="shad")),
            Chunk(kind=text, text="A new let shadows.", ref=Reference(anchor="shad")),
            Chunk(kind=heading, text="Constants", ref=Reference(heading_level=2, anchor="const")),
            Chunk(kind=text, text="Constants never change.", ref=Reference(anchor="const")),
        ],
    ))  # fmt: skip
    # The author renamed the lesson, so its title no longer finds its heading; its concepts
    # cite the page as the structurer does for an upload: `filename#anchor`.
    renamed = lesson("Variables (reviewed)", origin="edited")
    cited = {"material_id": str(page.material_id), "url": "ch03-01-variables.html#shad"}
    renamed.children.append(
        StructureNode("concept", {"title": "Shadow", "web_references": [cited]})
    )
    (cut,) = part_materials(renamed, [page])
    assert [c.text for c in cut.document.chunks] == ["Variables", "Shadowing", "A new let shadows."]
