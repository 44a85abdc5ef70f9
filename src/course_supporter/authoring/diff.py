"""What changed between two structure documents, item by item (matched by id)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from course_supporter.authoring.schemas import (
    FieldChange,
    ItemChange,
    ItemMove,
    ItemRef,
    VersionDiff,
)

# Where an item sits, not what it says: reported as a move, not as a change.
_PLACE = frozenset({"id", "position", "module_id", "lesson_id", "lessons", "concepts", "exercises"})
# Older documents named the exercise's criteria `grading_criteria`.
_RENAMED = {"grading_criteria": "criteria"}


@dataclass(frozen=True)
class _Flat:
    kind: str
    parent: str | None
    position: int
    fields: dict[str, Any]

    @property
    def title(self) -> str:
        return str(self.fields.get("title") or self.fields.get("description") or "")


def _flatten(document: dict[str, Any]) -> dict[str, _Flat]:
    flat: dict[str, _Flat] = {}

    def add(kind: str, item: dict[str, Any], parent: str | None, position: int) -> None:
        fields = {_RENAMED.get(k, k): v for k, v in item.items() if k not in _PLACE}
        flat[item["id"]] = _Flat(kind, parent, position, fields)

    for m_pos, module in enumerate(document.get("modules", []), start=1):
        add("module", module, None, m_pos)
        for l_pos, lesson in enumerate(module.get("lessons", []), start=1):
            add("lesson", lesson, module["id"], l_pos)
            for kind, key in (("concept", "concepts"), ("exercise", "exercises")):
                for pos, item in enumerate(lesson.get(key, []), start=1):
                    add(kind, item, lesson["id"], pos)
    return flat


def _ref(item_id: str, item: _Flat) -> ItemRef:
    return ItemRef(kind=item.kind, id=uuid.UUID(item_id), title=item.title)


def diff_documents(
    a: int, old_document: dict[str, Any], b: int, new_document: dict[str, Any]
) -> VersionDiff:
    """Added, removed, changed (field by field, old and new) and moved items from `a` to `b`.

    A move is a new parent, or a new position among siblings that is not only the shift
    caused by an item added or removed before it.
    """
    old, new = _flatten(old_document), _flatten(new_document)
    added = [_ref(i, item) for i, item in new.items() if i not in old]
    removed = [_ref(i, item) for i, item in old.items() if i not in new]
    changed: list[ItemChange] = []
    moved: list[ItemMove] = []
    # Items under the same parent on both sides, ranked among themselves: what an insertion,
    # a deletion or a move elsewhere shifts keeps its rank.
    stable = {i for i in old.keys() & new.keys() if old[i].parent == new[i].parent}
    old_rank, new_rank = _ranks(old, stable), _ranks(new, stable)
    for item_id, after in new.items():
        before = old.get(item_id)
        if before is None:
            continue
        changes = [
            FieldChange(field=name, old=before.fields.get(name), new=after.fields.get(name))
            for name in sorted(before.fields.keys() | after.fields.keys())
            if before.fields.get(name) != after.fields.get(name)
        ]
        if changes:
            ref = _ref(item_id, after)
            changed.append(ItemChange(kind=ref.kind, id=ref.id, title=ref.title, changes=changes))
        if item_id not in stable or old_rank[item_id] != new_rank[item_id]:
            moved.append(
                ItemMove(
                    kind=after.kind,
                    id=uuid.UUID(item_id),
                    title=after.title,
                    old_parent_id=uuid.UUID(before.parent) if before.parent else None,
                    new_parent_id=uuid.UUID(after.parent) if after.parent else None,
                    old_position=before.position,
                    new_position=after.position,
                )
            )
    return VersionDiff(
        from_version=a, to_version=b, added=added, removed=removed, changed=changed, moved=moved
    )


def _ranks(flat: dict[str, _Flat], keep: set[str]) -> dict[str, int]:
    """Each kept item's place among its kept siblings."""
    counters: dict[tuple[str, str | None], int] = {}
    ranks: dict[str, int] = {}
    for item_id, item in sorted(flat.items(), key=lambda pair: pair[1].position):
        if item_id not in keep:
            continue
        group = (item.kind, item.parent)
        counters[group] = counters.get(group, 0) + 1
        ranks[item_id] = counters[group]
    return ranks
