"""The normalized source document every ingestion processor yields.

The outline lives in HEADING chunks: `ref.heading_level` 1 is the document's (page's) top
heading, deeper levels relative to it; the chunks after a heading belong to it. Per format:
HTML headings carry `ref.anchor`; a paged PDF's headings come from its bookmarks (else its
type) and carry `ref.page`..`ref.end_page`; a PPTX opens a section at each titled slide
(a slide repeating the title before it, "… (cont.)", continues it; "Section Header" slides
are level 1 over titled slides at level 2); a transcript with more than one topic has a
level-1 HEADING per topic, titled by the topic the speaker announces (else its most
distinctive phrase), whose `start_seconds`/`end_seconds` span the topic.
`SourceDocument.source_type` is how the material reads: a PDF manual is "text" (cited by
page), a deck exported to PDF "presentation" (cited by slide).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)


class ChunkKind(StrEnum):
    HEADING = "heading"
    PARAGRAPH = "paragraph"
    SLIDE_TEXT = "slide_text"
    SPEAKER_NOTES = "speaker_notes"
    TRANSCRIPT = "transcript"
    WEB_CONTENT = "web_content"
    CODE = "code"
    """A code listing, kept verbatim (whitespace, underscores, angle brackets)."""


class Reference(BaseModel):
    """Where in the material a chunk comes from; only the fields that apply are set."""

    heading_level: int | None = None
    page: int | None = None
    end_page: int | None = None
    """On a HEADING of a paged document: the last page its section (with subsections) covers."""
    slide: int | None = None
    start_seconds: float | None = None
    end_seconds: float | None = None
    url: str | None = None
    anchor: str | None = None
    """The id of the nearest heading in an HTML page, so a reference can point at `url#anchor`."""


class Chunk(BaseModel):
    kind: ChunkKind
    text: str
    ref: Reference = Field(default_factory=Reference)
    emphasis: list[str] = Field(default_factory=list)
    """Terms the material marks in this chunk: bold, inline code, defined or glossary terms."""
    back_matter: bool = False
    """Licence, index, contents, copyright page: stored and searchable, never structured."""


# Names documents stored before `DocumentMetadata` used, and the field each became.
_LEGACY_NAMES = {
    "url": "source_url",
    "pages": "page_count",
    "slides": "slide_count",
    "audio_seconds": "duration_seconds",
}
_LEGACY_FRONT_MATTER = "front_matter_"


class DocumentMetadata(BaseModel):
    """What a processor knows about the whole material; only the fields that apply are set."""

    model_config = ConfigDict(extra="forbid")

    filename: str | None = None
    format: str | None = None
    characters: int = 0
    source_url: str | None = None
    """The URL the material was given as (a web page, a video page)."""
    final_url: str | None = None
    """Where fetching a web page ended, after redirects: the address its text is from."""
    page_count: int | None = None
    slide_count: int | None = None
    duration_seconds: float | None = None
    """Length of the audio a transcript was made from."""
    layout: Literal["slides", "document"] | None = None
    """How a PDF reads: a deck exported to PDF, or a paged document."""
    outline: Literal["bookmarks", "fonts", "none"] | None = None
    running_lines_removed: int | None = None
    extractor: str | None = None
    topics: int | None = None
    transcript_source: str | None = None
    subtitle_language: str | None = None
    speech_engine: str | None = None
    skipped_cues: int | None = None
    trimmed_cues: int | None = None
    front_matter: dict[str, str | int | float | bool] | None = None
    """The scalar values of a Markdown or reStructuredText file's front matter."""

    @model_validator(mode="before")
    @classmethod
    def _read_legacy_names(cls, value: Any) -> Any:
        """Documents stored under the earlier free-form names still load."""
        if not isinstance(value, dict):
            return value
        current: dict[str, Any] = {}
        front_matter: dict[str, Any] = {}
        for key, item in value.items():
            if key in _LEGACY_NAMES:
                current.setdefault(_LEGACY_NAMES[key], item)
            elif key.startswith(_LEGACY_FRONT_MATTER):
                front_matter[key.removeprefix(_LEGACY_FRONT_MATTER)] = item
            else:
                current[key] = item
        if front_matter:
            current["front_matter"] = front_matter | (current.get("front_matter") or {})
        return current

    @model_serializer(mode="wrap")
    def _set_fields_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        dumped: dict[str, Any] = handler(self)
        return {key: item for key, item in dumped.items() if item is not None}


class SourceDocument(BaseModel):
    source_type: str
    title: str
    chunks: list[Chunk] = Field(default_factory=list)
    metadata: DocumentMetadata = Field(default_factory=DocumentMetadata)
