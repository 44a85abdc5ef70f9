"""API shapes of materials and slide mappings."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from course_supporter.materials.models import SourceType

TIMECODE = re.compile(r"(\d{2}):([0-5]\d):([0-5]\d)")


class MaterialFromUrl(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_type: SourceType
    source_url: Annotated[HttpUrl, Field(max_length=2048)]


class MaterialOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    course_id: uuid.UUID
    source_type: str
    source_url: str | None
    filename: str | None
    content_type: str | None
    size_bytes: int | None
    sha256: str | None
    status: str
    error_message: str | None
    created_at: datetime
    updated_at: datetime


class MaterialCreated(MaterialOut):
    job_id: uuid.UUID


class MaterialSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    source_type: str
    status: str
    filename: str | None
    source_url: str | None


class MaterialDocument(BaseModel):
    material_id: uuid.UUID
    status: str
    document: dict[str, Any]


class SlideMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slide_number: Annotated[int, Field(ge=1, le=100_000)]
    video_timecode: Annotated[str, Field(examples=["00:01:05"])]

    @field_validator("video_timecode")
    @classmethod
    def _timecode(cls, value: str) -> str:
        if TIMECODE.fullmatch(value) is None:
            raise ValueError("video_timecode must be HH:MM:SS with minutes and seconds below 60")
        return value


class SlideMappingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mappings: Annotated[list[SlideMapping], Field(min_length=1, max_length=2000)]

    @field_validator("mappings")
    @classmethod
    def _unique_slides(cls, value: list[SlideMapping]) -> list[SlideMapping]:
        numbers = [mapping.slide_number for mapping in value]
        duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
        if duplicates:
            raise ValueError(f"slide numbers given more than once: {duplicates}")
        return value


class SlideMappingOut(BaseModel):
    created: int
    mappings: list[SlideMapping]
