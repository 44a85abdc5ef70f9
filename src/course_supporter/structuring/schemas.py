"""The generated course structure and the materials it is generated from."""

from __future__ import annotations

from typing import Annotated, Literal
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
