"""API shapes of courses."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

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


class CourseDetail(CourseOut):
    """A course with its materials (and, once generated, its structure)."""

    materials: list[MaterialSummary]
