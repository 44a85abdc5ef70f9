"""Materials for structuring tests: the Markdown tutorial in tests/data as processed documents."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from course_supporter.ingestion.document import Chunk, ChunkKind, Reference, SourceDocument
from course_supporter.ingestion.merge import MaterialDocument
from course_supporter.structuring.schemas import CourseStructure

DATA = Path(__file__).resolve().parents[1] / "data"
HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
INLINE_MARKUP = re.compile(r"\*\*|__|`")


def markdown_document(text: str, title: str) -> SourceDocument:
    """A Markdown file as the text processor yields it: headings and paragraphs, plain text."""
    chunks: list[Chunk] = []
    for block in re.split(r"\n\s*\n", text):
        block = block.strip()
        if not block:
            continue
        heading = HEADING.match(block)
        if heading:
            chunks.append(
                Chunk(
                    kind=ChunkKind.HEADING,
                    text=heading[2].strip(),
                    ref=Reference(heading_level=len(heading[1])),
                )
            )
        else:
            plain = INLINE_MARKUP.sub("", " ".join(block.split()))
            chunks.append(Chunk(kind=ChunkKind.PARAGRAPH, text=plain))
    return SourceDocument(source_type="text", title=title, chunks=chunks)


def tutorial_materials() -> list[MaterialDocument]:
    """The four tutorial chapters, one material each, in file order, with stable ids."""
    materials = []
    for path in sorted((DATA / "tutorial").glob("*.md")):
        document = markdown_document(path.read_text(encoding="utf-8"), path.stem)
        material_id = uuid.uuid5(uuid.NAMESPACE_URL, f"tutorial/{path.name}")
        materials.append(MaterialDocument(material_id, "text", path.name, document))
    return materials


@pytest.fixture
def tutorial() -> list[MaterialDocument]:
    return tutorial_materials()


@pytest.fixture
def tutorial_reference() -> CourseStructure:
    return CourseStructure.model_validate_json(
        (DATA / "tutorial_reference.json").read_text(encoding="utf-8")
    )
