"""A lesson's quiz: objective items built from its concepts, the same every time, graded exactly."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

QUIZ_NAMESPACE = uuid.UUID("6f1d2c3e-8b7a-5c4d-9e0f-a1b2c3d4e5f6")
MAX_DISTRACTORS = 3
OPTION_IDS = "abcd"
TRUE, FALSE = "true", "false"


class ItemKind(StrEnum):
    MULTIPLE_CHOICE = "multiple_choice"
    TRUE_FALSE = "true_false"


@dataclass(frozen=True)
class QuizConcept:
    """What a quiz needs of a concept."""

    id: uuid.UUID
    title: str
    definition: str


@dataclass(frozen=True)
class QuizOption:
    id: str
    text: str


@dataclass(frozen=True)
class QuizItem:
    id: uuid.UUID
    kind: ItemKind
    concept_id: uuid.UUID
    prompt: str
    options: tuple[QuizOption, ...]
    answer: str
    """The id of the right option: never sent before the learner answers."""


def item_id(lesson_id: uuid.UUID, concept_id: uuid.UUID, kind: ItemKind) -> uuid.UUID:
    """Stable across reads: the same lesson, concept and kind give the same id."""
    return uuid.uuid5(QUIZ_NAMESPACE, f"{lesson_id}:{concept_id}:{kind.value}")


def _order_key(seed: uuid.UUID, text: str) -> str:
    return hashlib.sha256(f"{seed}:{text}".encode()).hexdigest()


def _distractors(concept: QuizConcept, siblings: Sequence[QuizConcept]) -> list[str]:
    """Other concepts' definitions, starting after this concept's place, none repeating it."""
    place = next((n for n, c in enumerate(siblings) if c.id == concept.id), -1)
    rotated = [*siblings[place + 1 :], *siblings[: max(place, 0)]]
    seen = {concept.definition.strip().casefold()}
    chosen: list[str] = []
    for sibling in rotated:
        text = sibling.definition.strip()
        if sibling.id == concept.id or not text or text.casefold() in seen:
            continue
        seen.add(text.casefold())
        chosen.append(text)
        if len(chosen) == MAX_DISTRACTORS:
            break
    return chosen


def _multiple_choice(
    lesson_id: uuid.UUID, concept: QuizConcept, distractors: Sequence[str]
) -> QuizItem:
    identity = item_id(lesson_id, concept.id, ItemKind.MULTIPLE_CHOICE)
    right = concept.definition.strip()
    texts = sorted([right, *distractors], key=lambda t: _order_key(identity, t))
    options = tuple(QuizOption(OPTION_IDS[n], text) for n, text in enumerate(texts))
    answer = next(o.id for o in options if o.text == right)
    return QuizItem(
        identity,
        ItemKind.MULTIPLE_CHOICE,
        concept.id,
        f"Which statement describes “{concept.title}”?",
        options,
        answer,
    )


def _true_false(lesson_id: uuid.UUID, concept: QuizConcept, distractors: Sequence[str]) -> QuizItem:
    identity = item_id(lesson_id, concept.id, ItemKind.TRUE_FALSE)
    # Half of the statements are false (where a sibling's definition is there to make one).
    false_statement = bool(distractors) and identity.int % 2 == 1
    statement = distractors[-1] if false_statement else concept.definition.strip()
    return QuizItem(
        identity,
        ItemKind.TRUE_FALSE,
        concept.id,
        f"True or false: “{concept.title}” — {statement}",
        (QuizOption(TRUE, "True"), QuizOption(FALSE, "False")),
        FALSE if false_statement else TRUE,
    )


def build_quiz(lesson_id: uuid.UUID, concepts: Sequence[QuizConcept]) -> list[QuizItem]:
    """Per concept a multiple-choice item (with two or more concepts) and a true/false item."""
    usable = [c for c in concepts if c.title.strip() and c.definition.strip()]
    items: list[QuizItem] = []
    for concept in usable:
        distractors = _distractors(concept, usable)
        if len(usable) >= 2 and distractors:
            items.append(_multiple_choice(lesson_id, concept, distractors))
        items.append(_true_false(lesson_id, concept, distractors))
    return items


@dataclass(frozen=True)
class ItemResult:
    item: QuizItem
    choice: str
    correct: bool


class QuizAnswerError(ValueError):
    """An answer names no item of the quiz, a choice the item does not offer, or repeats one."""

    def __init__(self, message: str, index: int, field: str) -> None:
        super().__init__(message)
        self.index = index
        self.field = field


def grade_quiz(
    items: Sequence[QuizItem], answers: Sequence[tuple[uuid.UUID, str]]
) -> list[ItemResult]:
    """Each answer checked exactly against its item; raises `QuizAnswerError` on a bad one."""
    by_id = {item.id: item for item in items}
    seen: set[uuid.UUID] = set()
    results: list[ItemResult] = []
    for index, (answered_id, choice) in enumerate(answers):
        item = by_id.get(answered_id)
        if item is None:
            raise QuizAnswerError(
                f"item {answered_id} is not in this lesson's quiz", index, "item_id"
            )
        if answered_id in seen:
            raise QuizAnswerError(f"item {answered_id} is answered twice", index, "item_id")
        seen.add(answered_id)
        offered = [option.id for option in item.options]
        if choice not in offered:
            raise QuizAnswerError(f"choice must be one of {', '.join(offered)}", index, "choice")
        results.append(ItemResult(item, choice, choice == item.answer))
    return results
