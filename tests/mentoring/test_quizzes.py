"""Lesson quizzes: items built from the concepts, stable, answer-free to read, graded exactly."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from course_supporter.courses.models import Concept, Lesson
from course_supporter.mentoring.models import QuizAttempt
from course_supporter.mentoring.quizzes import (
    ItemKind,
    QuizConcept,
    build_quiz,
    grade_quiz,
    item_id,
)
from tests.conftest import ApiClient
from tests.jobs.conftest import embedded_client
from tests.mentoring.conftest import Seeded, seed_course


def concept(title: str, definition: str) -> QuizConcept:
    return QuizConcept(uuid.uuid4(), title, definition)


def test_items_come_from_the_concepts_and_their_siblings() -> None:
    lesson = uuid.uuid4()
    concepts = [
        concept("Stack", "Last in, first out."),
        concept("Queue", "First in, first out."),
        concept("Heap", "A tree where each parent orders before its children."),
    ]
    items = build_quiz(lesson, concepts)
    assert items == build_quiz(lesson, concepts)
    assert [(i.kind, i.concept_id) for i in items] == [
        (kind, c.id) for c in concepts for kind in (ItemKind.MULTIPLE_CHOICE, ItemKind.TRUE_FALSE)
    ]
    for item in items:
        assert item.id == item_id(lesson, item.concept_id, item.kind)
        own = next(c for c in concepts if c.id == item.concept_id)
        if item.kind is ItemKind.MULTIPLE_CHOICE:
            texts = {o.text for o in item.options}
            assert texts == {c.definition for c in concepts}
            assert next(o.text for o in item.options if o.id == item.answer) == own.definition
        else:
            assert [o.id for o in item.options] == ["true", "false"]
            assert (own.definition in item.prompt) == (item.answer == "true")
    # Graded exactly: the right option is right, any other is wrong.
    other = next(o.id for o in items[1].options if o.id != items[1].answer)
    results = grade_quiz(items, [(items[0].id, items[0].answer), (items[1].id, other)])
    assert [r.correct for r in results] == [True, False]


def test_few_concepts_give_true_false_only_and_none_an_empty_quiz() -> None:
    lesson = uuid.uuid4()
    single = build_quiz(lesson, [concept("Stack", "Last in, first out.")])
    assert [(i.kind, i.answer) for i in single] == [(ItemKind.TRUE_FALSE, "true")]
    assert build_quiz(lesson, []) == []
    # Two concepts with the same definition give no distractor: no multiple choice either.
    twins = build_quiz(lesson, [concept("A", "Same words."), concept("B", "same words.")])
    assert {i.kind for i in twins} == {ItemKind.TRUE_FALSE}


async def lesson_of(api: ApiClient, seeded: Seeded) -> tuple[str, list[QuizConcept]]:
    async with api.db.sessions() as session:
        lesson_id = await session.scalar(
            select(Lesson.id).where(Lesson.course_id == uuid.UUID(seeded.course_id))
        )
        rows = (
            await session.scalars(
                select(Concept).where(Concept.lesson_id == lesson_id).order_by(Concept.position)
            )
        ).all()
    assert lesson_id is not None
    return str(lesson_id), [QuizConcept(c.id, c.title, c.definition) for c in rows]


async def attempts(api: ApiClient) -> int:
    async with api.db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(QuizAttempt)) or 0)


async def test_a_quiz_is_read_without_answers_and_graded_with_review_pointers(
    database_url: str, tmp_path: Path
) -> None:
    async with embedded_client(database_url, tmp_path) as api:
        seeded = await seed_course(api)
        lesson_id, concepts = await lesson_of(api, seeded)
        url = f"/api/v1/courses/{seeded.course_id}/lessons/{lesson_id}/quiz"
        me = (await api.http.get("/api/v1/me", headers=seeded.headers)).json()
        check = {"X-API-Key": await api.new_key("check", tenant=me["tenant_name"])}
        prep = {"X-API-Key": await api.new_key("prep", tenant=me["tenant_name"])}

        read = await api.http.get(url, headers=check)
        assert read.status_code == 200, read.text
        quiz = read.json()
        assert (await api.http.get(url, headers=prep)).json() == quiz
        assert [i["kind"] for i in quiz["items"]] == [
            "multiple_choice",
            "true_false",
            "multiple_choice",
            "true_false",
        ]
        assert all(
            set(i) == {"id", "kind", "concept_id", "prompt", "options"} for i in quiz["items"]
        )

        items = build_quiz(uuid.UUID(lesson_id), concepts)
        assert [str(i.id) for i in items] == [i["id"] for i in quiz["items"]]
        base_case = next(c for c in concepts if c.title == "Base case")
        wrong = next(i for i in items if i.concept_id == base_case.id)
        other_choice = next(o.id for o in wrong.options if o.id != wrong.answer)
        answers: list[dict[str, Any]] = [
            {"item_id": str(i.id), "choice": other_choice if i is wrong else i.answer}
            for i in items
            if i.kind is ItemKind.MULTIPLE_CHOICE or i is wrong
        ]
        body = {"learner_ref": "l-9", "answers": answers}
        assert (await api.http.post(f"{url}/answers", json=body, headers=prep)).status_code == 403

        graded = await api.http.post(f"{url}/answers", json=body, headers=check)
        assert graded.status_code == 200, graded.text
        result = graded.json()
        # Four items, the two multiple-choice ones answered, one right: the rest count as wrong.
        assert wrong.kind is ItemKind.MULTIPLE_CHOICE
        assert (result["score"], result["max_score"]) == (1.0, 4.0)
        by_item = {r["item_id"]: r for r in result["items"]}
        assert by_item[str(wrong.id)]["correct"] is False
        # The concept's page in a material the course still has, not the deleted material's.
        assert by_item[str(wrong.id)]["review"] == [
            {
                "concept_id": str(base_case.id),
                "concept": "Base case",
                "material_id": seeded.material_id,
                "timecode": None,
                "slide": None,
                "page": 3,
                "url": None,
            }
        ]
        assert all(r["review"] == [] for r in result["items"] if r["correct"])

        perfect = [{"item_id": str(i.id), "choice": i.answer} for i in items]
        again = await api.http.post(
            f"{url}/answers", json={"learner_ref": "l-9", "answers": perfect}, headers=check
        )
        assert again.json()["score"] == 4.0

        progress = await api.http.get(
            f"/api/v1/courses/{seeded.course_id}/learners/l-9", headers=check
        )
        lessons = progress.json()["lessons"]
        assert [(p["lesson_id"], p["quiz"]) for p in lessons] == [
            (lesson_id, {"best_score": 4.0, "max_score": 4.0, "attempts": 2})
        ]
        erased = await api.http.delete(
            f"/api/v1/courses/{seeded.course_id}/learners/l-9", headers=check
        )
        assert erased.status_code == 204
        assert await attempts(api) == 0


async def test_bad_quiz_answers_are_422_and_store_nothing(
    database_url: str, tmp_path: Path
) -> None:
    async with embedded_client(database_url, tmp_path) as api:
        seeded = await seed_course(api)
        lesson_id, concepts = await lesson_of(api, seeded)
        url = f"/api/v1/courses/{seeded.course_id}/lessons/{lesson_id}/quiz/answers"
        items = build_quiz(uuid.UUID(lesson_id), concepts)
        first = {"item_id": str(items[0].id), "choice": items[0].answer}
        cases: list[tuple[dict[str, Any], str]] = [
            (
                {"learner_ref": "l", "answers": [{"item_id": str(uuid.uuid4()), "choice": "a"}]},
                "not in",
            ),
            ({"learner_ref": "l", "answers": [first, first]}, "twice"),
            ({"learner_ref": "l", "answers": [{**first, "choice": "z"}]}, "must be one of"),
            ({"learner_ref": "l", "answers": []}, ""),
            ({"learner_ref": "", "answers": [first]}, ""),
            ({"learner_ref": "x" * 129, "answers": [first]}, ""),
        ]
        for body, message in cases:
            response = await api.http.post(url, json=body, headers=seeded.headers)
            assert response.status_code == 422, (body, response.text)
            assert message in response.text
        assert await attempts(api) == 0

        missing = f"/api/v1/courses/{seeded.course_id}/lessons/{uuid.uuid4()}/quiz"
        assert (await api.http.get(missing, headers=seeded.headers)).status_code == 404
        response = await api.http.post(
            f"{missing}/answers",
            json={"learner_ref": "l", "answers": [first]},
            headers=seeded.headers,
        )
        assert response.status_code == 404
