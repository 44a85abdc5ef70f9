"""API shapes of structure edits, versions, diffs and publication."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StringConstraints

from course_supporter.courses.schemas import LongText, ShortItem, Title
from course_supporter.structuring.schemas import (
    Difficulty,
    PageReference,
    SlideReference,
    Timecode,
    TimecodeReference,
    WebReference,
)

Kind = Literal["module", "lesson", "concept", "exercise"]
Position = Annotated[int, Field(ge=1, le=10_000, description="1 is first; moves the item")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]
Criterion = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
Points = Annotated[float, Field(gt=0, le=1000)]

# One model per kind holds every field an edit may set. A create needs its kind's `REQUIRED`
# fields; an update sets only what it names, and `null` only where a field may be empty.


class ModuleFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: LongText | None = None
    learning_goal: LongText | None = None
    expected_knowledge: list[ShortItem] | None = Field(default=None, max_length=50)
    expected_skills: list[ShortItem] | None = Field(default=None, max_length=50)
    difficulty: Difficulty | None = None
    position: Position | None = None


class LessonFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    module_id: uuid.UUID | None = None
    title: Title | None = None
    position: Position | None = None
    video_material_id: uuid.UUID | None = None
    video_start: Timecode | None = None
    video_end: Timecode | None = None
    slides_material_id: uuid.UUID | None = None
    slide_start: int | None = Field(default=None, ge=1)
    slide_end: int | None = Field(default=None, ge=1)


class ConceptFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lesson_id: uuid.UUID | None = None
    title: Title | None = None
    definition: Text | None = None
    position: Position | None = None
    examples: list[Criterion] | None = Field(default=None, max_length=30)
    timecodes: list[TimecodeReference] | None = Field(default=None, max_length=50)
    slide_references: list[SlideReference] | None = Field(default=None, max_length=50)
    page_references: list[PageReference] | None = Field(default=None, max_length=50)
    web_references: list[WebReference] | None = Field(default=None, max_length=50)


class ExerciseFields(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    lesson_id: uuid.UUID | None = None
    description: Text | None = None
    position: Position | None = None
    reference_solution: LongText | None = None
    criteria: list[Criterion] | None = Field(
        default=None,
        max_length=30,
        # `grading_criteria` is the name the exercise endpoints took before `criteria`.
        validation_alias=AliasChoices("criteria", "grading_criteria"),
    )
    difficulty: int | None = Field(default=None, ge=1, le=5)
    max_points: Points | None = None
    concept_ids: list[uuid.UUID] | None = Field(
        default=None, max_length=50, description="Concepts of the course it assesses"
    )


FIELDS: dict[str, type[BaseModel]] = {
    "module": ModuleFields,
    "lesson": LessonFields,
    "concept": ConceptFields,
    "exercise": ExerciseFields,
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "module": ("title",),
    "lesson": ("module_id", "title"),
    "concept": ("lesson_id", "title", "definition"),
    "exercise": ("lesson_id", "description"),
}


class ModuleCreate(ModuleFields):
    title: Title


class LessonCreate(LessonFields):
    module_id: uuid.UUID
    title: Title


class ConceptCreate(ConceptFields):
    lesson_id: uuid.UUID
    title: Title
    definition: Text


class ExerciseCreate(ExerciseFields):
    lesson_id: uuid.UUID
    description: Text


class Edit(BaseModel):
    """One edit of a batch; `fields` are those of the kind's create or change body."""

    model_config = ConfigDict(extra="forbid")

    op: Literal["create", "update", "delete", "move"]
    kind: Kind
    id: uuid.UUID | None = Field(
        default=None, description="The item to change; on create, an optional id of your own"
    )
    fields: dict[str, Any] = Field(default_factory=dict)


class EditBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    edits: list[Edit] = Field(min_length=1, max_length=500)


class EditResult(BaseModel):
    op: str
    kind: Kind
    id: uuid.UUID


class EditBatchOut(BaseModel):
    version: int
    results: list[EditResult]


class ItemOut(BaseModel):
    """The item as the structure document shows it, and the version the edit made."""

    model_config = ConfigDict(extra="allow")

    id: uuid.UUID
    kind: Kind
    position: int
    origin: str
    version: int


class VersionOut(BaseModel):
    number: int
    kind: str
    key_prefix: str | None
    created_at: datetime
    published: bool
    job_id: uuid.UUID | None = None
    fingerprints: dict[str, str | None] = Field(default_factory=dict)


class VersionPage(BaseModel):
    items: list[VersionOut]
    next_cursor: str | None


class VersionDetail(VersionOut):
    structure: dict[str, Any]


class FieldChange(BaseModel):
    field: str
    old: Any
    new: Any


class ItemRef(BaseModel):
    kind: Kind
    id: uuid.UUID
    title: str


class ItemChange(ItemRef):
    changes: list[FieldChange]


class ItemMove(ItemRef):
    old_parent_id: uuid.UUID | None
    new_parent_id: uuid.UUID | None
    old_position: int
    new_position: int


class VersionDiff(BaseModel):
    from_version: int
    to_version: int
    added: list[ItemRef]
    removed: list[ItemRef]
    changed: list[ItemChange]
    moved: list[ItemMove]


class PublishRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="Default: the latest version"
    )


class PublicationOut(BaseModel):
    published_version: int | None
    version: int | None
    """The draft's current version."""
