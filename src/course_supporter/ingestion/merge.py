"""Merge a course's extracted materials into one CourseContext for structuring."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from uuid import UUID

from course_supporter.ingestion.document import ChunkKind, SourceDocument

_SLIDE_KINDS = frozenset({ChunkKind.HEADING, ChunkKind.SLIDE_TEXT, ChunkKind.SPEAKER_NOTES})


@dataclass(frozen=True)
class MaterialDocument:
    """One processed material, as the job hands it over (no ORM objects)."""

    material_id: UUID
    source_type: str
    label: str
    """The file name or URL the material came from."""
    document: SourceDocument
    position: int | None = None
    """The tenant's place for the material; unset ones follow in upload (id) order."""


@dataclass(frozen=True)
class CourseContext:
    """All of a course's documents in a stable order, with the slide→video-second mapping."""

    materials: list[MaterialDocument]
    slide_video_mappings: dict[int, float] = field(default_factory=dict)

    def documents_of(self, source_type: str) -> list[SourceDocument]:
        """The documents of one source type, in context order."""
        return [m.document for m in self.materials if m.source_type == source_type]


def build_course_context(
    materials: Iterable[MaterialDocument], mappings: Mapping[int, float]
) -> CourseContext:
    """Order materials as the tenant did and stamp mapped slides with their video time.

    The order is the explicit `position`, then upload order (ids are time-ordered); the
    material type never decides it.

    Every chunk of a mapped slide (title, text, notes) in every presentation gets
    `ref.start_seconds`; the inputs are not modified.
    """
    ordered = sorted(materials, key=course_order)
    seconds_by_slide = dict(mappings)
    enriched = [
        _with_slide_times(material, seconds_by_slide)
        if material.source_type == "presentation" and seconds_by_slide
        else material
        for material in ordered
    ]
    return CourseContext(materials=enriched, slide_video_mappings=seconds_by_slide)


def course_order(material: MaterialDocument) -> tuple[bool, int, UUID]:
    """The sort key of the tenant's order: positioned materials first, then by upload."""
    return (material.position is None, material.position or 0, material.material_id)


def _with_slide_times(
    material: MaterialDocument, seconds_by_slide: Mapping[int, float]
) -> MaterialDocument:
    document = material.document.model_copy(deep=True)
    for chunk in document.chunks:
        slide = chunk.ref.slide
        if chunk.kind in _SLIDE_KINDS and slide is not None and slide in seconds_by_slide:
            chunk.ref.start_seconds = float(seconds_by_slide[slide])
    return MaterialDocument(
        material_id=material.material_id,
        source_type=material.source_type,
        label=material.label,
        document=document,
        position=material.position,
    )
