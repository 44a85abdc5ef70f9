"""The key a deleted generated item is remembered by (pure: regeneration imports it too)."""

from __future__ import annotations

import re

KINDS = frozenset({"module", "lesson", "concept", "exercise"})
MATCH_KEY_LENGTH = 300

_WHITESPACE = re.compile(r"\s+")


def tombstone_key(kind: str, text: str) -> str:
    """The match key of an item of `kind` by its title (an exercise: its description):
    casefolded, whitespace collapsed, the first 300 characters. The kind is stored beside it."""
    if kind not in KINDS:
        raise ValueError(f"not a structure item kind: {kind!r}")
    return _WHITESPACE.sub(" ", text.casefold()).strip()[:MATCH_KEY_LENGTH]
