"""Check every reference of a structure against the materials.

A reference is dropped when its location does not exist, or when the text at that location
(the page, the slide, the cue at that second, the section under `url#anchor`) does not
contain the concept's term.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from course_supporter.ingestion.document import Chunk, ChunkKind
from course_supporter.ingestion.merge import MaterialDocument
from course_supporter.structuring.schemas import Concept, CourseStructure, Lesson, parse_timecode
from course_supporter.structuring.terms import TextIndex, term_key

URL_PATTERN = re.compile(r"https?://[^\s<>\"'`)\]]+")
TIMECODE_TOLERANCE_SECONDS = 1


def normalize_url(url: str) -> str:
    """A URL in the form used for comparison: no fragment, no trailing slash or punctuation."""
    url = url.strip().split("#", 1)[0].rstrip(".,;:!?")
    return url.rstrip("/").lower()


@dataclass
class MaterialLocations:
    """The locations one material really has: pages, slides, a time extent and URLs."""

    pages: set[int] = field(default_factory=set)
    slides: set[int] = field(default_factory=set)
    first_second: float | None = None
    last_second: float | None = None
    urls: set[str] = field(default_factory=set)
    page_text: dict[int, list[str]] = field(default_factory=dict)
    slide_text: dict[int, list[str]] = field(default_factory=dict)
    cues: list[tuple[float, float, str]] = field(default_factory=list)
    url_text: dict[str, list[str]] = field(default_factory=dict)
    """Text under each `url` and each `url#anchor` (normalized url, then `#anchor`)."""
    _indexes: dict[tuple[str, object], TextIndex] = field(default_factory=dict)

    def text_at(self, kind: str, where: object) -> TextIndex:
        """The text at one location, indexed for term look-ups (empty if there is none)."""
        cached = self._indexes.get((kind, where))
        if cached is not None:
            return cached
        if kind == "page":
            parts = self.page_text.get(int(str(where)), [])
        elif kind == "slide":
            parts = self.slide_text.get(int(str(where)), [])
        elif kind == "second":
            second = int(str(where))
            low, high = second - TIMECODE_TOLERANCE_SECONDS, second + TIMECODE_TOLERANCE_SECONDS
            parts = [text for start, end, text in self.cues if start <= high and end >= low]
        else:
            parts = self.url_text.get(str(where), [])
        index = TextIndex(" ".join(parts))
        self._indexes[(kind, where)] = index
        return index

    def has_time(self, seconds: int) -> bool:
        """Whether a timecode falls within the material's transcript or mapped slides."""
        if self.first_second is None or self.last_second is None:
            return False
        low = math.floor(self.first_second) - TIMECODE_TOLERANCE_SECONDS
        high = math.ceil(self.last_second) + TIMECODE_TOLERANCE_SECONDS
        return low <= seconds <= high

    def include_time(self, start: float, end: float) -> None:
        """Widen the time extent to cover `start` to `end`."""
        self.first_second = start if self.first_second is None else min(self.first_second, start)
        self.last_second = end if self.last_second is None else max(self.last_second, end)


def collect_locations(material: MaterialDocument) -> MaterialLocations:
    """Every page, slide, time and URL a material's chunks and metadata vouch for."""
    locations = MaterialLocations()
    document = material.document
    if material.label.startswith(("http://", "https://")):
        locations.urls.add(normalize_url(material.label))
    for key in ("url", "source_url", "final_url"):
        value = document.metadata.get(key)
        if isinstance(value, str) and value:
            locations.urls.add(normalize_url(value))
    for key, target in (("page_count", locations.pages), ("slide_count", locations.slides)):
        count = document.metadata.get(key)
        if isinstance(count, int) and not isinstance(count, bool):
            target.update(range(1, count + 1))
    duration = document.metadata.get("duration_seconds")
    if isinstance(duration, int | float) and not isinstance(duration, bool) and duration > 0:
        locations.include_time(0.0, float(duration))
    base_url = normalize_url(material.label)
    for chunk in document.chunks:
        ref = chunk.ref
        text = _located_text(chunk)
        if ref.page is not None:
            locations.pages.add(ref.page)
            locations.page_text.setdefault(ref.page, []).append(text)
        if ref.slide is not None:
            locations.slides.add(ref.slide)
            locations.slide_text.setdefault(ref.slide, []).append(text)
        if ref.start_seconds is not None:
            end = ref.end_seconds if ref.end_seconds is not None else ref.start_seconds
            locations.include_time(ref.start_seconds, end)
            locations.cues.append((math.floor(ref.start_seconds), math.ceil(end), text))
        url = normalize_url(ref.url) if ref.url else base_url
        if ref.url:
            locations.urls.add(url)
        if ref.anchor:
            # A file uploaded from a site is cited by its name and the heading's id.
            locations.urls.add(url)
        locations.url_text.setdefault(url, []).append(text)
        if ref.anchor:
            locations.url_text.setdefault(f"{url}#{ref.anchor}", []).append(text)
        if "http" in chunk.text:
            for cited in URL_PATTERN.findall(chunk.text):
                locations.urls.add(normalize_url(cited))
                # What the material says where it cites the page is what we can check.
                locations.url_text.setdefault(normalize_url(cited), []).append(text)
    return locations


def _located_text(chunk: Chunk) -> str:
    return chunk.text if chunk.kind is not ChunkKind.CODE else chunk.text.replace("\n", " ")


def _anchored(url: str) -> str:
    """A cited URL as the key of its text: normalized, with its `#anchor` if it has one."""
    anchor = url.split("#", 1)[1] if "#" in url else ""
    return f"{normalize_url(url)}#{anchor}" if anchor else normalize_url(url)


@dataclass(frozen=True)
class ReferenceCheck:
    """A structure with only real references left, and what was dropped."""

    structure: CourseStructure
    dropped: int
    dropped_details: list[str]
    without_term: int = 0
    """Of `dropped`, the references to a real location whose text lacks the concept's term."""


class _Checker:
    def __init__(self, materials: Sequence[MaterialDocument], *, check_terms: bool = True) -> None:
        self.locations = {m.material_id: collect_locations(m) for m in materials}
        self.dropped: list[str] = []
        self.without_term = 0
        self.check_terms = check_terms

    def _keep(self, ok: bool, description: str) -> bool:
        if not ok:
            self.dropped.append(description)
        return ok

    def _holds(self, key: str, material_id: UUID, kind: str, where: object, what: str) -> bool:
        """Whether the location's text contains the term; a miss is dropped and counted."""
        material = self._material(material_id)
        if not self.check_terms or material is None or material.text_at(kind, where).mentions(key):
            return True
        self.without_term += 1
        self.dropped.append(f"{what}: the term is not there")
        return False

    def _material(self, material_id: UUID | None) -> MaterialLocations | None:
        return self.locations.get(material_id) if material_id is not None else None

    def check_concept(self, concept: Concept) -> None:
        where = f"concept {concept.title!r}"
        key = term_key(concept.title)
        concept.page_references = [
            ref
            for ref in concept.page_references
            if self._keep(
                ref.page in getattr(self._material(ref.material_id), "pages", ()),
                f"{where}: page {ref.page} of {ref.material_id}",
            )
            and self._holds(key, ref.material_id, "page", ref.page, f"{where}: page {ref.page}")
        ]
        concept.slide_references = [
            ref
            for ref in concept.slide_references
            if self._keep(
                ref.slide in getattr(self._material(ref.material_id), "slides", ()),
                f"{where}: slide {ref.slide} of {ref.material_id}",
            )
            and self._holds(key, ref.material_id, "slide", ref.slide, f"{where}: slide {ref.slide}")
        ]
        concept.timecodes = [
            ref
            for ref in concept.timecodes
            if self._keep(
                self._has_time(ref.material_id, ref.timecode),
                f"{where}: timecode {ref.timecode} of {ref.material_id}",
            )
            and self._holds(
                key,
                ref.material_id,
                "second",
                parse_timecode(ref.timecode),
                f"{where}: timecode {ref.timecode}",
            )
        ]
        concept.web_references = [
            ref
            for ref in concept.web_references
            if self._keep(
                normalize_url(ref.url) in getattr(self._material(ref.material_id), "urls", ()),
                f"{where}: url {ref.url} of {ref.material_id}",
            )
            and self._holds(key, ref.material_id, "url", _anchored(ref.url), f"{where}: {ref.url}")
        ]

    def _has_time(self, material_id: UUID | None, timecode: str) -> bool:
        material = self._material(material_id)
        return material is not None and material.has_time(parse_timecode(timecode))

    def check_lesson(self, lesson: Lesson) -> None:
        where = f"lesson {lesson.title!r}"
        for name in ("video_start", "video_end"):
            value = getattr(lesson, name)
            if value is not None and not self._keep(
                self._has_time(lesson.video_material_id, value), f"{where}: {name} {value}"
            ):
                setattr(lesson, name, None)
        slides: set[int] = getattr(self._material(lesson.slides_material_id), "slides", set())
        for name in ("slide_start", "slide_end"):
            value = getattr(lesson, name)
            if value is not None and not self._keep(value in slides, f"{where}: {name} {value}"):
                setattr(lesson, name, None)
        if lesson.video_start is None and lesson.video_end is None:
            lesson.video_material_id = None
        if lesson.slide_start is None and lesson.slide_end is None:
            lesson.slides_material_id = None
        for concept in lesson.concepts:
            self.check_concept(concept)


def drop_missing_references(
    structure: CourseStructure, materials: Iterable[MaterialDocument]
) -> ReferenceCheck:
    """A copy of `structure` whose every reference points at a real location holding its term."""
    checked = structure.model_copy(deep=True)
    checker = _Checker(list(materials))
    for module in checked.modules:
        for lesson in module.lessons:
            checker.check_lesson(lesson)
    return ReferenceCheck(checked, len(checker.dropped), checker.dropped, checker.without_term)


def missing_locations(
    lessons: Iterable[Lesson], materials: Iterable[MaterialDocument]
) -> list[str]:
    """Each location the lessons and their concepts cite that no material has (an author's
    edit: whatever the text there says, the place must exist)."""
    checker = _Checker(list(materials), check_terms=False)
    for lesson in lessons:
        checker.check_lesson(lesson.model_copy(deep=True))
    return checker.dropped
