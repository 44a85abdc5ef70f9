"""Collect chunks while extracting, refusing documents whose text is larger than the cap."""

from __future__ import annotations

from collections.abc import Iterable

from course_supporter.ingestion.document import Chunk, ChunkKind, Reference
from course_supporter.ingestion.errors import IngestionError

# Whitespace that tidy_text would change; text without any of it is already tidy.
_UNTIDY = ("  ", "\n\n", " \n", "\n ", "\t", "\r", "\f", "\v", "\x1c", "\x1d", "\x1e", "\x1f")


def tidy_text(text: str) -> str:
    """Collapse runs of blanks inside each line and drop empty lines."""
    text = text.replace("\r\n", "\n")
    if text.isascii() and not any(mark in text for mark in _UNTIDY):
        return text.strip()
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def verbatim_text(text: str) -> str:
    """Code as written: indentation and inner blank lines kept, only outer blank lines dropped."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").expandtabs(4).split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


class ChunkCollector:
    """Accumulates non-empty chunks and fails once their text passes `max_chars`."""

    def __init__(self, max_chars: int, filename: str) -> None:
        self.max_chars = max_chars
        self.filename = filename
        self.chunks: list[Chunk] = []
        self.total_chars = 0

    def add(
        self,
        kind: ChunkKind,
        text: str,
        ref: Reference | None = None,
        *,
        emphasis: Iterable[str] = (),
        back_matter: bool = False,
    ) -> None:
        """Append a chunk unless its text is blank; CODE keeps its text verbatim."""
        text = verbatim_text(text) if kind is ChunkKind.CODE else tidy_text(text)
        if not text:
            return
        self.total_chars += len(text)
        if self.total_chars > self.max_chars:
            raise IngestionError(
                f"{self.filename} holds more than {self.max_chars:,} characters of text; "
                "split it into smaller materials"
            )
        terms = list(dict.fromkeys(t for t in (" ".join(e.split()) for e in emphasis) if t))
        self.chunks.append(
            Chunk(
                kind=kind,
                text=text,
                ref=ref or Reference(),
                emphasis=terms,
                back_matter=back_matter,
            )
        )

    def first_heading(self) -> str | None:
        """The text of the first heading, a natural document title."""
        return next((c.text for c in self.chunks if c.kind is ChunkKind.HEADING), None)
