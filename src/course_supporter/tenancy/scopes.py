"""The one registry of API key scopes."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    PREP = "prep"
    CHECK = "check"


SCOPE_DESCRIPTIONS: dict[Scope, str] = {
    Scope.PREP: "Authoring: create and change courses, upload materials, run generation.",
    Scope.CHECK: "Consuming: read courses, structures and reports; later automated mentoring.",
}


class UnknownScopeError(ValueError):
    pass


def parse_scopes(values: list[str] | str) -> list[Scope]:
    """Parse `prep,check` (or a list) into known scopes, rejecting anything else."""
    items = values.split(",") if isinstance(values, str) else values
    names = [item.strip() for item in items if item.strip()]
    if not names:
        raise UnknownScopeError("at least one scope is required")
    known = {scope.value for scope in Scope}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise UnknownScopeError(
            f"unknown scope(s) {', '.join(unknown)}; known scopes: {', '.join(sorted(known))}"
        )
    return sorted({Scope(name) for name in names})
