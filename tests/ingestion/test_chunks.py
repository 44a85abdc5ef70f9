"""Chunk text normalisation and the extracted-text cap."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from course_supporter.ingestion.chunks import ChunkCollector, tidy_text
from course_supporter.ingestion.document import ChunkKind
from course_supporter.ingestion.errors import IngestionError


def _reference_tidy(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


@given(st.text(alphabet=st.sampled_from("ab \n\t\r\u00a0\x1cé"), max_size=40) | st.text())
def test_tidy_text_fast_path_matches_the_line_by_line_rule(text: str) -> None:
    assert tidy_text(text) == _reference_tidy(text)
    assert tidy_text(tidy_text(text)) == tidy_text(text)


def test_collector_skips_blank_chunks_and_enforces_the_cap() -> None:
    collector = ChunkCollector(max_chars=10, filename="notes.md")
    collector.add(ChunkKind.PARAGRAPH, "  \n\t ")
    collector.add(ChunkKind.PARAGRAPH, "12345")
    assert [c.text for c in collector.chunks] == ["12345"]
    with pytest.raises(IngestionError, match=r"notes\.md holds more than 10 characters"):
        collector.add(ChunkKind.PARAGRAPH, "678901")
