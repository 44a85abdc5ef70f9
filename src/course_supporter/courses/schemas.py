"""API shapes of courses."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from course_supporter.materials.schemas import MaterialSummary

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
LongText = Annotated[str, StringConstraints(max_length=10_000)]
ShortItem = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class CourseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: LongText | None = None
    learning_goal: LongText | None = None
    expected_knowledge: list[ShortItem] = Field(default_factory=list, max_length=50)
    expected_skills: list[ShortItem] = Field(default_factory=list, max_length=50)


class CourseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: LongText | None = None
    learning_goal: LongText | None = None
    expected_knowledge: list[ShortItem] | None = Field(default=None, max_length=50)
    expected_skills: list[ShortItem] | None = Field(default=None, max_length=50)


class CourseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    description: str | None
    learning_goal: str | None
    expected_knowledge: list[str]
    expected_skills: list[str]
    created_at: datetime
    updated_at: datetime


class ReferenceOut(BaseModel):
    material_id: uuid.UUID
    page: int | None = None
    slide: int | None = None
    timecode: str | None = None
    url: str | None = None


Origin = Literal["generated", "edited", "authored"]


class ConceptOut(BaseModel):
    id: uuid.UUID
    position: int
    origin: Origin = "generated"
    title: str
    definition: str
    examples: list[str]
    timecodes: list[ReferenceOut]
    slide_references: list[ReferenceOut]
    page_references: list[ReferenceOut]
    web_references: list[ReferenceOut]


class ExerciseOut(BaseModel):
    id: uuid.UUID
    position: int
    origin: Origin = "generated"
    description: str
    reference_solution: str
    criteria: list[str]
    difficulty: int
    max_points: float = 5.0
    concept_ids: list[uuid.UUID] = Field(default_factory=list)


class LessonOut(BaseModel):
    id: uuid.UUID
    module_id: uuid.UUID
    position: int
    origin: Origin = "generated"
    title: str
    video_material_id: uuid.UUID | None
    video_start: str | None
    video_end: str | None
    slides_material_id: uuid.UUID | None
    slide_start: int | None
    slide_end: int | None
    concepts: list[ConceptOut]
    exercises: list[ExerciseOut]


class ModuleOut(BaseModel):
    id: uuid.UUID
    position: int
    origin: Origin = "generated"
    title: str
    description: str
    learning_goal: str
    expected_knowledge: list[str]
    expected_skills: list[str]
    difficulty: str
    lessons: list[LessonOut]


class StructureOut(BaseModel):
    """The generated plan; `version` grows by one with each regeneration."""

    version: int
    generated_at: datetime
    strategy: str | None
    title: str
    description: str
    learning_goal: str
    expected_knowledge: list[str]
    expected_skills: list[str]
    modules: list[ModuleOut]


class StaleMaterials(BaseModel):
    """Materials that differ from those the draft structure was built from."""

    added: list[uuid.UUID] = Field(default_factory=list)
    changed: list[uuid.UUID] = Field(default_factory=list)
    """Processed again to another document, or being processed again (a replaced file)."""
    removed: list[uuid.UUID] = Field(default_factory=list)


class CourseDetail(CourseOut):
    """A course with its materials and, once generated, its structure."""

    materials: list[MaterialSummary]
    version: int | None = None
    """The structure version shown: the draft's current one for `prep` keys (or `?version=`),
    the published one for `check` keys."""
    published_version: int | None = None
    stale: bool = False
    """The materials changed since the draft structure was built; regenerate to catch up."""
    stale_materials: StaleMaterials = Field(default_factory=StaleMaterials)
    structure: StructureOut | None


class StructureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    strategy: Literal["default", "quality", "budget"] = "default"
    wait_for_materials: bool = False
    """Queue the job until every material is done or failed, instead of a 409 while some
    are still processing."""


class JobAccepted(BaseModel):
    job_id: uuid.UUID


class RegenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instructions: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""
    """What the author wants changed, passed to the model (the offline structurer ignores it)."""
    strategy: Literal["default", "quality", "budget"] = "default"
