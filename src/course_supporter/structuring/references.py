"""Check every reference of a structure against the materials; drop those that do not exist."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from course_supporter.ingestion.merge import MaterialDocument
from course_supporter.structuring.schemas import Concept, CourseStructure, Lesson, parse_timecode

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
    for chunk in document.chunks:
        ref = chunk.ref
        if ref.page is not None:
            locations.pages.add(ref.page)
        if ref.slide is not None:
            locations.slides.add(ref.slide)
        if ref.start_seconds is not None:
            end = ref.end_seconds if ref.end_seconds is not None else ref.start_seconds
            locations.include_time(ref.start_seconds, end)
        if ref.url:
            locations.urls.add(normalize_url(ref.url))
        if "http" in chunk.text:
            locations.urls.update(normalize_url(url) for url in URL_PATTERN.findall(chunk.text))
    return locations


@dataclass(frozen=True)
class ReferenceCheck:
    """A structure with only real references left, and what was dropped."""

    structure: CourseStructure
    dropped: int
    dropped_details: list[str]


class _Checker:
    def __init__(self, materials: Sequence[MaterialDocument]) -> None:
        self.locations = {m.material_id: collect_locations(m) for m in materials}
        self.dropped: list[str] = []

    def _keep(self, ok: bool, description: str) -> bool:
        if not ok:
            self.dropped.append(description)
        return ok

    def _material(self, material_id: UUID | None) -> MaterialLocations | None:
        return self.locations.get(material_id) if material_id is not None else None

    def check_concept(self, concept: Concept) -> None:
        where = f"concept {concept.title!r}"
        concept.page_references = [
            ref
            for ref in concept.page_references
            if self._keep(
                ref.page in getattr(self._material(ref.material_id), "pages", ()),
                f"{where}: page {ref.page} of {ref.material_id}",
            )
        ]
        concept.slide_references = [
            ref
            for ref in concept.slide_references
            if self._keep(
                ref.slide in getattr(self._material(ref.material_id), "slides", ()),
                f"{where}: slide {ref.slide} of {ref.material_id}",
            )
        ]
        concept.timecodes = [
            ref
            for ref in concept.timecodes
            if self._keep(
                self._has_time(ref.material_id, ref.timecode),
                f"{where}: timecode {ref.timecode} of {ref.material_id}",
            )
        ]
        concept.web_references = [
            ref
            for ref in concept.web_references
            if self._keep(
                normalize_url(ref.url) in getattr(self._material(ref.material_id), "urls", ()),
                f"{where}: url {ref.url} of {ref.material_id}",
            )
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
    """Return a copy of `structure` whose every reference points at a real location."""
    checked = structure.model_copy(deep=True)
    checker = _Checker(list(materials))
    for module in checked.modules:
        for lesson in module.lessons:
            checker.check_lesson(lesson)
    return ReferenceCheck(checked, len(checker.dropped), checker.dropped)
