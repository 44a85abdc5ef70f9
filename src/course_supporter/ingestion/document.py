"""The normalized source document every ingestion processor yields."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class ChunkKind(StrEnum):
    HEADING = "heading"
    PARAGRAPH = "paragraph"
    SLIDE_TEXT = "slide_text"
    SPEAKER_NOTES = "speaker_notes"
    TRANSCRIPT = "transcript"
    WEB_CONTENT = "web_content"


class Reference(BaseModel):
    """Where in the material a chunk comes from; only the fields that apply are set."""

    heading_level: int | None = None
    page: int | None = None
    slide: int | None = None
    start_seconds: float | None = None
    end_seconds: float | None = None
    url: str | None = None


class Chunk(BaseModel):
    kind: ChunkKind
    text: str
    ref: Reference = Field(default_factory=Reference)


class SourceDocument(BaseModel):
    source_type: str
    title: str
    chunks: list[Chunk] = Field(default_factory=list)
    metadata: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
