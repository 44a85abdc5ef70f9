"""How far a parse got: a processor calls `progress(done, total, phase)` after each natural unit
(a PDF page, a slide, a Word paragraph, a Markdown section, a transcribed segment).

The call may come from the confined child (it goes up the result pipe) or from a thread
(transcription); the receiving side decides how often it is written anywhere.
"""

from __future__ import annotations

from collections.abc import Callable

ParseProgress = Callable[[int, int | None, str], None]

READING_PAGES = "reading pages"
READING_SLIDES = "reading slides"
READING_PARAGRAPHS = "reading paragraphs"
READING_SECTIONS = "reading sections"
TRANSCRIBING = "transcribing segments"


def no_progress(done: int, total: int | None, phase: str) -> None:
    """The default: nobody is listening."""
