"""A course's working structure in memory: edits apply here, then it renders one document."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from course_supporter.courses.models import Concept, Exercise, Lesson, Module, Origin
from course_supporter.courses.structure import lesson_document, module_document
from course_supporter.errors import InvalidInputError

Item = Module | Lesson | Concept | Exercise
KIND_OF: dict[type[Any], str] = {
    Module: "module",
    Lesson: "lesson",
    Concept: "concept",
    Exercise: "exercise",
}
PARENT_FIELD = {"lesson": "module_id", "concept": "lesson_id", "exercise": "lesson_id"}
# Column names where the API's name differs.
COLUMN = {"criteria": "grading_criteria"}
UUID_FIELDS = frozenset({"module_id", "lesson_id", "video_material_id", "slides_material_id"})
# Fields an update may set to null (everything else keeps a value).
NULLABLE = frozenset(
    {"video_material_id", "video_start", "video_end", "slides_material_id", "slide_start",
     "slide_end"}
)  # fmt: skip
DEFAULTS: dict[str, dict[str, Any]] = {
    "module": {
        "description": "",
        "learning_goal": "",
        "expected_knowledge": [],
        "expected_skills": [],
        "difficulty": "medium",
    },
    "lesson": {},
    "concept": {
        "examples": [],
        "timecodes": [],
        "slide_references": [],
        "page_references": [],
        "web_references": [],
    },
    "exercise": {
        "reference_solution": "",
        "grading_criteria": [],
        "difficulty": 3,
        "max_points": 5.0,
        "concept_ids": [],
    },
}


def where(index: int | None, *loc: str | int) -> tuple[str | int, ...]:
    """The `loc` of an error in a single edit's body or in edit `index` of a batch."""
    return ("body", *loc) if index is None else ("body", "edits", index, "fields", *loc)


@dataclass
class Draft:
    """Ordered children per parent, and every item by id."""

    course_id: uuid.UUID
    modules: list[Module]
    lessons: dict[uuid.UUID, list[Lesson]] = field(default_factory=dict)
    concepts: dict[uuid.UUID, list[Concept]] = field(default_factory=dict)
    exercises: dict[uuid.UUID, list[Exercise]] = field(default_factory=dict)
    items: dict[uuid.UUID, Item] = field(default_factory=dict)
    removed: list[Item] = field(default_factory=list)
    """Deleted items and everything below them."""
    deleted: list[Item] = field(default_factory=list)
    """The items edits deleted (not what went with them)."""
    emptied: set[uuid.UUID] = field(default_factory=set)
    """Modules a move took a lesson from: each must still have one."""

    @classmethod
    def of(
        cls,
        course_id: uuid.UUID,
        modules: Sequence[Module],
        lessons: Sequence[Lesson],
        concepts: Sequence[Concept],
        exercises: Sequence[Exercise],
    ) -> Draft:
        draft = cls(course_id, sorted(modules, key=lambda m: m.position))
        for module in draft.modules:
            draft.lessons[module.id] = []
            draft.items[module.id] = module
        for lesson in sorted(lessons, key=lambda item: item.position):
            draft.lessons.setdefault(lesson.module_id, []).append(lesson)
            draft.concepts[lesson.id], draft.exercises[lesson.id] = [], []
            draft.items[lesson.id] = lesson
        for concept in sorted(concepts, key=lambda item: item.position):
            draft.concepts.setdefault(concept.lesson_id, []).append(concept)
            draft.items[concept.id] = concept
        for exercise in sorted(exercises, key=lambda item: item.position):
            draft.exercises.setdefault(exercise.lesson_id, []).append(exercise)
            draft.items[exercise.id] = exercise
        return draft

    def get(self, kind: str, item_id: uuid.UUID) -> Item | None:
        item = self.items.get(item_id)
        return item if item is not None and KIND_OF[type(item)] == kind else None

    def siblings(self, item: Item) -> list[Any]:
        if isinstance(item, Module):
            return self.modules
        if isinstance(item, Lesson):
            return self.lessons[item.module_id]
        if isinstance(item, Concept):
            return self.concepts[item.lesson_id]
        return self.exercises[item.lesson_id]

    def _children_of(self, kind: str, parent_id: uuid.UUID) -> list[Any]:
        table: dict[uuid.UUID, list[Any]] = {
            "lesson": self.lessons,
            "concept": self.concepts,
            "exercise": self.exercises,
        }[kind]  # type: ignore[assignment]
        return table[parent_id]

    def _parent(self, kind: str, parent_id: uuid.UUID, index: int | None) -> None:
        """422 unless `parent_id` is an item of the kind `kind` hangs from."""
        parent_kind = "module" if kind == "lesson" else "lesson"
        if self.get(parent_kind, parent_id) is not None:
            return
        name = PARENT_FIELD[kind]
        if parent_id in self.items:
            # A lesson under a lesson (or under itself) would make the tree a cycle.
            raise InvalidInputError(
                f"{name} must name a {parent_kind}: this move would make a cycle",
                loc=where(index, name),
            )
        raise InvalidInputError(
            f"{name} is not a {parent_kind} of this course", loc=where(index, name)
        )

    @staticmethod
    def _insert(siblings: list[Any], item: Item, position: int | None, index: int | None) -> None:
        if position is None:
            siblings.append(item)
            return
        if position > len(siblings) + 1:
            raise InvalidInputError(
                f"position must be between 1 and {len(siblings) + 1}", loc=where(index, "position")
            )
        siblings.insert(position - 1, item)

    def create(self, kind: str, item: Item, position: int | None, index: int | None) -> None:
        item.origin = Origin.AUTHORED
        if kind == "module":
            assert isinstance(item, Module)
            self._insert(self.modules, item, position, index)
            self.lessons[item.id] = []
        else:
            parent_id = getattr(item, PARENT_FIELD[kind])
            self._parent(kind, parent_id, index)
            self._insert(self._children_of(kind, parent_id), item, position, index)
            if isinstance(item, Lesson):
                self.concepts[item.id], self.exercises[item.id] = [], []
        self.items[item.id] = item

    def update(self, item: Item, changes: dict[str, Any], index: int | None) -> None:
        """Set the named fields; a new parent or position moves the item."""
        kind = KIND_OF[type(item)]
        parent_name = PARENT_FIELD.get(kind)
        position = changes.pop("position", None)
        new_parent = changes.pop(parent_name, None) if parent_name else None
        for name, value in changes.items():
            if value is None and name not in NULLABLE:
                raise InvalidInputError(f"{name} cannot be null", loc=where(index, name))
            setattr(item, COLUMN.get(name, name), value)
        moving = position is not None or (
            new_parent is not None and new_parent != getattr(item, parent_name or "", None)
        )
        if moving:
            self.move(item, new_parent, position, index)
        if (changes or moving) and item.origin == Origin.GENERATED:
            item.origin = Origin.EDITED

    def move(
        self, item: Item, new_parent: uuid.UUID | None, position: int | None, index: int | None
    ) -> None:
        kind = KIND_OF[type(item)]
        siblings = self.siblings(item)
        if new_parent is not None and kind != "module":
            if new_parent == item.id:
                raise InvalidInputError(
                    "an item cannot be moved into itself: this move would make a cycle",
                    loc=where(index, PARENT_FIELD[kind]),
                )
            self._parent(kind, new_parent, index)
            if isinstance(item, Lesson) and new_parent != item.module_id:
                self.emptied.add(item.module_id)
            siblings.remove(item)
            setattr(item, PARENT_FIELD[kind], new_parent)
            target = self._children_of(kind, new_parent)
        else:
            siblings.remove(item)
            target = siblings
        self._insert(target, item, position, index)

    def delete(self, item: Item) -> None:
        """Remove the item and everything under it."""
        self.siblings(item).remove(item)
        self.deleted.append(item)
        self._forget(item)

    def _forget(self, item: Item) -> None:
        if isinstance(item, Module):
            for lesson in self.lessons.pop(item.id):
                self._forget(lesson)
        elif isinstance(item, Lesson):
            children: list[Item] = [*self.concepts.pop(item.id), *self.exercises.pop(item.id)]
            for child in children:
                self._forget(child)
        del self.items[item.id]
        self.removed.append(item)

    def renumber(self) -> None:
        """Positions 1..n in every list, written only where they changed."""
        lists: list[list[Any]] = [
            self.modules,
            *self.lessons.values(),
            *self.concepts.values(),
            *self.exercises.values(),
        ]
        for siblings in lists:
            for number, item in enumerate(siblings, start=1):
                if item.position != number:
                    item.position = number

    def empty_modules(self) -> list[Module]:
        return [m for m in self.modules if m.id in self.emptied and not self.lessons[m.id]]

    def document(self, head: dict[str, Any]) -> dict[str, Any]:
        """The read document: `head` (version, title, …) and the modules as rendered rows."""
        return {
            **head,
            "modules": [
                module_document(
                    module,
                    [
                        lesson_document(lesson, self.concepts[lesson.id], self.exercises[lesson.id])
                        for lesson in self.lessons[module.id]
                    ],
                )
                for module in self.modules
            ],
        }


def validated_fields(
    kind: str, model: type[BaseModel], fields: dict[str, Any], index: int | None
) -> dict[str, Any]:
    """The edit's fields checked by the kind's model; only those given, ids as UUIDs."""
    try:
        parsed = model.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInputError(f"{kind}: {first['msg']}", loc=where(index, *first["loc"])) from exc
    values = parsed.model_dump(exclude_unset=True, mode="json")
    for name in UUID_FIELDS & values.keys():
        if values[name] is not None:
            values[name] = uuid.UUID(values[name])
    return values
