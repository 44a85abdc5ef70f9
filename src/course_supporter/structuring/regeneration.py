"""Regeneration that keeps edits: a fresh generation merged into the stored structure tree.

Edited and authored items stay where they are (same id, same parent, same order among the
kept); generated items give way to the fresh ones; a fresh item the author deleted before
(a tombstone) stays deleted; a generated module or lesson left empty by the merge is dropped.
An item's place is kept by pairing the current and fresh lists in order: items recognised by
the same title (an exercise by its description) pair first, the rest pair up in order
between them. An edited item stands in for the fresh item it pairs with; an authored item
has no generated counterpart and pairs with nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from uuid import UUID

from course_supporter.ingestion.document import Chunk, ChunkKind
from course_supporter.ingestion.merge import MaterialDocument
from course_supporter.structuring.schemas import CHILD_KINDS, StructureNode, parse_timecode

GENERATED = "generated"
AUTHORED = "authored"

Tombstoned = Callable[[StructureNode], bool]
"""Whether a fresh item matches a tombstone: the author deleted its generated twin."""


def merge_course(
    current: Sequence[StructureNode],
    fresh: Sequence[StructureNode],
    *,
    tombstoned: Tombstoned = lambda node: False,
) -> list[StructureNode]:
    """The course's new modules: the whole structure regenerated."""
    return _merge_list(list(current), _prune(fresh, tombstoned), tombstoned)


def merge_module(
    current: StructureNode,
    fresh: Sequence[StructureNode],
    *,
    tombstoned: Tombstoned = lambda node: False,
) -> StructureNode | None:
    """One module regenerated from the fresh modules (their lessons joined in order); the
    module keeps its id, and its fields unless they were edited."""
    modules = _prune(fresh, tombstoned)
    joined = StructureNode(
        "module",
        dict(modules[0].fields) if modules else dict(current.fields),
        children=[lesson for module in modules for lesson in module.children],
    )
    return _merge_target(current, joined, tombstoned)


def merge_lesson(
    current: StructureNode,
    fresh: Sequence[StructureNode],
    *,
    tombstoned: Tombstoned = lambda node: False,
) -> StructureNode | None:
    """One lesson regenerated from the fresh modules (all their concepts, then exercises)."""
    lessons = [lesson for module in _prune(fresh, tombstoned) for lesson in module.children]
    items = [item for lesson in lessons for item in lesson.children]
    joined = StructureNode(
        "lesson",
        dict(lessons[0].fields) if lessons else dict(current.fields),
        children=[
            *(item for item in items if item.kind == "concept"),
            *(item for item in items if item.kind == "exercise"),
        ],
    )
    return _merge_target(current, joined, tombstoned)


def _merge_target(
    current: StructureNode, joined: StructureNode, tombstoned: Tombstoned
) -> StructureNode | None:
    """The part merged, under its own id; None when nothing of it would be left."""
    merged = _merge_pair(current, joined, tombstoned)
    return None if merged is None else replace(merged, id=current.id)


def holds_kept(node: StructureNode) -> bool:
    """Whether the item or anything under it was edited or authored."""
    return node.origin != GENERATED or any(holds_kept(child) for child in node.children)


def _prune(nodes: Sequence[StructureNode], tombstoned: Tombstoned) -> list[StructureNode]:
    """Fresh items without the tombstoned ones (and whatever they hold)."""
    return [
        replace(node, children=_prune(node.children, tombstoned))
        for node in nodes
        if not tombstoned(node)
    ]


def _merge_list(
    current: list[StructureNode], fresh: list[StructureNode], tombstoned: Tombstoned
) -> list[StructureNode]:
    """Children of one parent, kind by kind in the order of `CHILD_KINDS`."""
    kinds = list(dict.fromkeys(node.kind for node in [*current, *fresh]))
    merged: list[StructureNode] = []
    for kind in kinds:
        for old, new in _pair(
            [n for n in current if n.kind == kind], [n for n in fresh if n.kind == kind]
        ):
            node = _merge_pair(old, new, tombstoned) if old is not None else _fresh(new)
            if node is not None:
                merged.append(node)
    return merged


def _merge_pair(
    old: StructureNode, new: StructureNode | None, tombstoned: Tombstoned
) -> StructureNode | None:
    """One current item against its fresh counterpart (or none)."""
    kept = old.origin != GENERATED
    if new is None and not holds_kept(old):
        return None
    children = _merge_list(old.children, new.children if new else [], tombstoned)
    if not kept and CHILD_KINDS[old.kind] and not children:
        return None
    if kept or holds_kept(old):
        fields = old.fields if kept or new is None else new.fields
        return StructureNode(old.kind, dict(fields), old.origin, old.id, children)
    assert new is not None
    return replace(new, id=old.id if _same_item(old, new) else None, children=children)


def _same_item(old: StructureNode, new: StructureNode) -> bool:
    """Whether a fresh generated item takes over its current twin's id.

    A module or lesson is the place it holds, so it keeps its id whatever its new title; a
    concept or exercise keeps it only when it is recognisably the same (same title, or
    description). Ids that survive an unchanged regeneration keep the diff to what really
    changed, and keep valid the exercise ids a learners' platform stored.
    """
    return bool(CHILD_KINDS[old.kind]) or _text_key(old) == _text_key(new)


def _fresh(node: StructureNode | None) -> StructureNode | None:
    """A fresh item with no current counterpart, without the empty modules and lessons in it."""
    if node is None:
        return None
    children = [child for child in map(_fresh, node.children) if child is not None]
    if CHILD_KINDS[node.kind] and not children:
        return None
    return replace(node, children=children)


def _pair(
    current: list[StructureNode], fresh: list[StructureNode]
) -> list[tuple[StructureNode | None, StructureNode | None]]:
    """Current and fresh items side by side in order; either side may be missing."""
    anchors = _same_text(current, fresh)
    pairs: list[tuple[StructureNode | None, StructureNode | None]] = []
    i = j = 0
    for anchor_i, anchor_j in [*anchors, (len(current), len(fresh))]:
        olds, news = current[i:anchor_i], fresh[j:anchor_j]
        pairable = [old for old in olds if old.origin != AUTHORED]
        partner = dict(zip((id(old) for old in pairable), news, strict=False))
        for old in olds:
            pairs.append((old, partner.get(id(old))))
        pairs.extend((None, new) for new in news[len(pairable) :])
        if anchor_i < len(current):
            pairs.append((current[anchor_i], fresh[anchor_j]))
        i, j = anchor_i + 1, anchor_j + 1
    return pairs


def _same_text(current: list[StructureNode], fresh: list[StructureNode]) -> list[tuple[int, int]]:
    """The longest run, in order, of current and fresh items with the same text."""

    old_keys = [_text_key(n) if n.origin != AUTHORED else None for n in current]
    new_keys = [_text_key(n) for n in fresh]
    rows, cols = len(old_keys), len(new_keys)
    best = [[0] * (cols + 1) for _ in range(rows + 1)]
    for a in range(rows - 1, -1, -1):
        for b in range(cols - 1, -1, -1):
            if old_keys[a] is not None and old_keys[a] == new_keys[b]:
                best[a][b] = best[a + 1][b + 1] + 1
            else:
                best[a][b] = max(best[a + 1][b], best[a][b + 1])
    matches: list[tuple[int, int]] = []
    a = b = 0
    while a < rows and b < cols:
        if old_keys[a] is not None and old_keys[a] == new_keys[b]:
            matches.append((a, b))
            a, b = a + 1, b + 1
        elif best[a + 1][b] >= best[a][b + 1]:
            a += 1
        else:
            b += 1
    return matches


def _text_key(node: StructureNode) -> str:
    return " ".join(node.key_text.casefold().split())


# What to regenerate from: the parts of the materials behind one module or lesson.

_NUMBERING = re.compile(r"^(?:\d{1,2}(?:\.\d{1,2})*\.?|[A-Z](?:\.\d{1,2})+\.?)\s+")


@dataclass
class PartLocations:
    """The locations one material holds for a part: where its items point, by kind."""

    pages: set[int] = dataclass_field(default_factory=set)
    slides: set[int] = dataclass_field(default_factory=set)
    spans: list[tuple[float, float]] = dataclass_field(default_factory=list)
    urls: set[str] = dataclass_field(default_factory=set)

    def holds(self, chunk: Chunk, label: str) -> bool:
        """Whether the part points at `chunk` of the material called `label` (an uploaded
        page is cited as `label#anchor`, a fetched one by its URL)."""
        ref = chunk.ref
        if ref.page is not None and (ref.page in self.pages or self._page_range_hit(chunk)):
            return True
        if ref.slide is not None and ref.slide in self.slides:
            return True
        if ref.start_seconds is not None:
            end = ref.end_seconds if ref.end_seconds is not None else ref.start_seconds
            if any(ref.start_seconds <= high and end >= low for low, high in self.spans):
                return True
        if ref.url is not None or ref.anchor:
            address = (ref.url or label).split("#", 1)[0].rstrip("/")
            anchored = f"{address}#{ref.anchor}" if ref.anchor else address
            return anchored in self.urls or address in self.urls
        return False

    def _page_range_hit(self, chunk: Chunk) -> bool:
        last = chunk.ref.end_page or chunk.ref.page or 0
        return any((chunk.ref.page or 0) <= page <= last for page in self.pages)


def part_locations(part: StructureNode) -> dict[UUID, PartLocations]:
    """Per material, every location the part's lessons and concepts point at."""
    found: dict[UUID, PartLocations] = {}

    def at(material: object) -> PartLocations:
        return found.setdefault(UUID(str(material)), PartLocations())

    for node in _walk(part):
        fields = node.fields
        if node.kind == "lesson":
            if fields.get("video_material_id") and fields.get("video_start"):
                start = parse_timecode(str(fields["video_start"]))
                end = parse_timecode(str(fields.get("video_end") or fields["video_start"]))
                at(fields["video_material_id"]).spans.append((start, max(start, end)))
            if fields.get("slides_material_id") and fields.get("slide_start"):
                first = int(fields["slide_start"])
                last = int(fields.get("slide_end") or first)
                at(fields["slides_material_id"]).slides.update(range(first, max(first, last) + 1))
        if node.kind != "concept":
            continue
        for ref in fields.get("page_references") or []:
            at(ref["material_id"]).pages.add(int(ref["page"]))
        for ref in fields.get("slide_references") or []:
            at(ref["material_id"]).slides.add(int(ref["slide"]))
        for ref in fields.get("timecodes") or []:
            second = parse_timecode(str(ref["timecode"]))
            at(ref["material_id"]).spans.append((second, second))
        for ref in fields.get("web_references") or []:
            address, _, anchor = str(ref["url"]).partition("#")
            address = address.rstrip("/")
            at(ref["material_id"]).urls.add(f"{address}#{anchor}" if anchor else address)
    return found


def _walk(node: StructureNode) -> list[StructureNode]:
    return [node, *(item for child in node.children for item in _walk(child))]


def _title_key(text: str) -> str:
    return " ".join(_NUMBERING.sub("", " ".join(text.split())).casefold().split())


def part_materials(
    part: StructureNode, materials: Sequence[MaterialDocument]
) -> list[MaterialDocument]:
    """The materials cut down to the sections behind `part`: a section is kept when one of
    its chunks is at a location the part's items point at, or its heading is the title of
    the part or of one of its lessons (what generated them). Kept sections keep the headings
    above them, so the structurer sees where they sit."""
    locations = part_locations(part)
    titles = {
        _title_key(node.key_text) for node in _walk(part) if node.kind in {"module", "lesson"}
    }
    cut: list[MaterialDocument] = []
    for material in materials:
        chunks = material.document.chunks
        where = locations.get(material.material_id)
        keep = [False] * len(chunks)
        for index, chunk in enumerate(chunks):
            heading = chunk.kind is ChunkKind.HEADING
            if heading and _title_key(chunk.text) in titles:
                for inner in _section(chunks, index):
                    keep[inner] = True
            elif where is not None and where.holds(chunk, material.label):
                for inner in _section(chunks, _enclosing_heading(chunks, index)):
                    keep[inner] = True
        if not any(keep):
            continue
        for index in range(len(chunks)):
            if keep[index]:
                for above in _headings_above(chunks, index):
                    keep[above] = True
        document = material.document.model_copy(
            update={"chunks": [chunk for chunk, kept in zip(chunks, keep, strict=True) if kept]}
        )
        cut.append(replace(material, document=document))
    return cut


def _level(chunk: Chunk) -> int:
    return chunk.ref.heading_level or 1


def _section(chunks: Sequence[Chunk], start: int | None) -> range:
    """The chunk at `start` and, for a heading, everything up to the next heading as high."""
    if start is None:
        return range(0)
    if chunks[start].kind is not ChunkKind.HEADING:
        return range(start, start + 1)
    level = _level(chunks[start])
    end = start + 1
    while end < len(chunks) and not (
        chunks[end].kind is ChunkKind.HEADING and _level(chunks[end]) <= level
    ):
        end += 1
    return range(start, end)


def _enclosing_heading(chunks: Sequence[Chunk], index: int) -> int:
    """The nearest heading at or before `index` (the chunk itself when there is none)."""
    for before in range(index, -1, -1):
        if chunks[before].kind is ChunkKind.HEADING:
            return before
    return index


def _headings_above(chunks: Sequence[Chunk], index: int) -> list[int]:
    above: list[int] = []
    level = _level(chunks[index]) if chunks[index].kind is ChunkKind.HEADING else 10**6
    for before in range(index - 1, -1, -1):
        chunk = chunks[before]
        if chunk.kind is ChunkKind.HEADING and _level(chunk) < level:
            above.append(before)
            level = _level(chunk)
    return above
