"""Routing strategies: which chain of models an action runs on (no imports: the CLI uses it)."""

from __future__ import annotations

from enum import StrEnum


class Strategy(StrEnum):
    DEFAULT = "default"
    QUALITY = "quality"
    BUDGET = "budget"
