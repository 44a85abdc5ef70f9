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

from pydantic import BaseModel, Field


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


class SourceDocument(BaseModel):
    source_type: str
    title: str
    chunks: list[Chunk] = Field(default_factory=list)
    metadata: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
