"""API shapes of materials and slide mappings."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urljoin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    field_validator,
)

from course_supporter.ingestion.fetching import INVALID_HOST_MESSAGE, host_name_is_valid
from course_supporter.materials.models import SourceType, Upload
from course_supporter.storage import PresignedUpload, normalise_filename

CONTENT_TYPE = r"^[\w.+-]+/[\w.+-]+(; ?[\w.+-]+=[\w.+-]+)*$"
TIMECODE = re.compile(r"(\d{2}):([0-5]\d):([0-5]\d)")


MaterialPosition = Annotated[int | None, Field(ge=0, le=1_000_000)]
"""Where the material goes in the course; materials without one follow in upload order."""


class MaterialFromUrl(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_type: SourceType
    source_url: Annotated[HttpUrl, Field(max_length=2048)]
    position: MaterialPosition = None

    @field_validator("source_url")
    @classmethod
    def _host_name_is_valid(cls, url: HttpUrl) -> HttpUrl:
        if not host_name_is_valid(url.host or ""):
            raise ValueError(INVALID_HOST_MESSAGE)
        return url


class UploadCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_type: SourceType | None = None
    """Left out: detected from the file name's extension."""
    filename: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=255),
        AfterValidator(normalise_filename),
    ]
    size_bytes: Annotated[int, Field(ge=1)]
    content_type: Annotated[str | None, Field(max_length=255, pattern=CONTENT_TYPE)] = None


class UploadPartUrl(BaseModel):
    part_number: int
    url: str
    size_bytes: int


class UploadOut(BaseModel):
    """Where and how to PUT the file, and until when."""

    upload_id: uuid.UUID
    material_id: uuid.UUID
    course_id: uuid.UUID
    filename: str
    source_type: str
    content_type: str
    size_bytes: int
    expires_at: datetime
    complete_by: datetime
    method: str = "PUT"
    url: str | None
    headers: dict[str, str]
    part_size: int | None
    parts: list[UploadPartUrl]
    complete_url: str
    instructions: str

    @classmethod
    def of(
        cls, upload: Upload, presigned: PresignedUpload, *, complete_by: datetime, base_url: str
    ) -> UploadOut:
        """`base_url` (the API's) makes absolute the URLs local storage signs relative to it."""
        complete_url = f"/api/v1/courses/{upload.course_id}/uploads/{upload.id}/complete"
        if presigned.upload_id is None:
            steps = (
                f"PUT the whole file ({upload.size_bytes} bytes) to `url` with `headers` "
                f"before expires_at, then POST {complete_url} with an empty body."
            )
        else:
            steps = (
                f"Split the file into parts of part_size ({presigned.part_size}) bytes, the "
                "last one shorter; PUT each part to its `url` before expires_at and keep "
                f"the ETag header of each answer. Then POST {complete_url} with "
                '{"parts": [{"part_number": 1, "etag": "<ETag>"}, ...]} '
                "(the list is optional; it is checked against what storage received)."
            )
        return cls(
            upload_id=upload.id,
            material_id=upload.material_id,
            course_id=upload.course_id,
            filename=upload.filename,
            source_type=upload.source_type,
            content_type=upload.content_type,
            size_bytes=upload.size_bytes,
            expires_at=presigned.expires_at,
            complete_by=complete_by,
            url=urljoin(base_url, presigned.url) if presigned.url else None,
            headers=presigned.headers,
            part_size=presigned.part_size,
            parts=[
                UploadPartUrl(
                    part_number=p.part_number, url=urljoin(base_url, p.url), size_bytes=p.size
                )
                for p in presigned.parts
            ],
            complete_url=complete_url,
            instructions=steps,
        )


class CompletedPart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    part_number: Annotated[int, Field(ge=1, le=10_000)]
    etag: Annotated[str, Field(min_length=1, max_length=200)]


class UploadCompletion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parts: Annotated[list[CompletedPart], Field(max_length=10_000)] = Field(default_factory=list)


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
    position: int | None
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
    # The pattern is declared for clients; the validator below enforces it with a clearer message.
    video_timecode: Annotated[
        str,
        Field(examples=["00:01:05"], json_schema_extra={"pattern": f"^{TIMECODE.pattern}$"}),
    ]

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
