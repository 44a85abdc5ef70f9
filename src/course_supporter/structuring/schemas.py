"""The generated course structure and the materials it is generated from."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints

STRUCTURE_FORMAT_VERSION = 1

Timecode = Annotated[str, StringConstraints(pattern=r"^\d{2}:[0-5]\d:[0-5]\d$")]
"""A position in a video or audio material, `HH:MM:SS` (at most 99:59:59, so it fits its column)."""

MAX_TIMECODE_SECONDS = 100 * 3600 - 1

Difficulty = Literal["easy", "medium", "hard"]


class PageReference(BaseModel):
    material_id: UUID
    page: int = Field(ge=1)


class SlideReference(BaseModel):
    material_id: UUID
    slide: int = Field(ge=1)


class TimecodeReference(BaseModel):
    material_id: UUID
    timecode: Timecode


class WebReference(BaseModel):
    material_id: UUID
    url: str


class Concept(BaseModel):
    title: str
    definition: str
    examples: list[str] = Field(default_factory=list)
    timecodes: list[TimecodeReference] = Field(default_factory=list)
    slide_references: list[SlideReference] = Field(default_factory=list)
    page_references: list[PageReference] = Field(default_factory=list)
    web_references: list[WebReference] = Field(default_factory=list)


class Exercise(BaseModel):
    description: str
    reference_solution: str
    grading_criteria: list[str] = Field(default_factory=list)
    difficulty: int = Field(ge=1, le=5)


class Lesson(BaseModel):
    title: str
    video_material_id: UUID | None = None
    video_start: Timecode | None = None
    video_end: Timecode | None = None
    slides_material_id: UUID | None = None
    slide_start: int | None = Field(default=None, ge=1)
    slide_end: int | None = Field(default=None, ge=1)
    concepts: list[Concept] = Field(default_factory=list)
    exercises: list[Exercise] = Field(default_factory=list)


class Module(BaseModel):
    title: str
    description: str = ""
    learning_goal: str = ""
    expected_knowledge: list[str] = Field(default_factory=list)
    expected_skills: list[str] = Field(default_factory=list)
    difficulty: Difficulty = "medium"
    lessons: list[Lesson] = Field(default_factory=list)


class CourseStructure(BaseModel):
    """A course: ordered modules of ordered lessons, each with concepts and exercises."""

    format_version: int = STRUCTURE_FORMAT_VERSION
    title: str
    description: str = ""
    learning_goal: str = ""
    expected_knowledge: list[str] = Field(default_factory=list)
    expected_skills: list[str] = Field(default_factory=list)
    modules: list[Module] = Field(default_factory=list)


def format_timecode(seconds: float) -> str:
    """Seconds as `HH:MM:SS`, rounded down and kept within 00:00:00-99:59:59."""
    total = min(max(int(seconds), 0), MAX_TIMECODE_SECONDS)
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def parse_timecode(timecode: str) -> int:
    """`HH:MM:SS` as seconds."""
    hours, minutes, seconds = (int(part) for part in timecode.split(":"))
    return hours * 3600 + minutes * 60 + seconds


ItemKind = Literal["module", "lesson", "concept", "exercise"]
CHILD_KINDS: dict[str, tuple[ItemKind, ...]] = {
    "module": ("lesson",),
    "lesson": ("concept", "exercise"),
    "concept": (),
    "exercise": (),
}


@dataclass
class StructureNode:
    """One item of a stored structure tree: its own fields, its origin, its children in order.

    `id` is None for an item that exists only in a fresh generation; `origin` is
    `generated`, `edited` or `authored` (the values of courses' `Origin`).
    """

    kind: ItemKind
    fields: dict[str, Any]
    origin: str = "generated"
    id: UUID | None = None
    children: list[StructureNode] = dataclass_field(default_factory=list)

    def children_of(self, kind: ItemKind) -> list[StructureNode]:
        return [child for child in self.children if child.kind == kind]

    @property
    def key_text(self) -> str:
        """The text an item is recognised by: a title, or an exercise's description."""
        return str(self.fields.get("description" if self.kind == "exercise" else "title", ""))


def generated_nodes(structure: CourseStructure) -> list[StructureNode]:
    """A fresh generation as a forest of modules, every item `generated` and without an id."""
    return [
        StructureNode(
            "module",
            module.model_dump(mode="json", exclude={"lessons"}),
            children=[_lesson_node(lesson) for lesson in module.lessons],
        )
        for module in structure.modules
    ]


def _lesson_node(lesson: Lesson) -> StructureNode:
    return StructureNode(
        "lesson",
        lesson.model_dump(mode="json", exclude={"concepts", "exercises"}),
        children=[
            *(StructureNode("concept", c.model_dump(mode="json")) for c in lesson.concepts),
            *(StructureNode("exercise", e.model_dump(mode="json")) for e in lesson.exercises),
        ],
    )
