"""Where a verdict sends a learner back to: the concepts behind each criterion."""

from __future__ import annotations

import uuid

from course_supporter.courses.models import Concept, Exercise
from course_supporter.mentoring.service import CoursePointers

MATERIAL = uuid.uuid4()


def concept(lesson_id: uuid.UUID, title: str, definition: str, anchor: str) -> Concept:
    return Concept(
        id=uuid.uuid4(),
        lesson_id=lesson_id,
        position=1,
        title=title,
        definition=definition,
        examples=[],
        timecodes=[],
        slide_references=[],
        page_references=[],
        web_references=[{"material_id": str(MATERIAL), "url": f"ch03.html#{anchor}"}],
    )


def test_a_criterion_naming_no_concept_points_where_the_task_does() -> None:
    lesson_id = uuid.uuid4()
    shadowing = concept(lesson_id, "Shadowing", "Declaring a new variable with the same name.", "a")
    mutable = concept(lesson_id, "Mut", "The mut keyword makes a variable mutable.", "b")
    elsewhere = concept(uuid.uuid4(), "Tuple", "A tuple groups values of several types.", "c")
    exercise = Exercise(
        id=uuid.uuid4(),
        lesson_id=lesson_id,
        position=1,
        description="Predict what this prints: let mut x = 5; x = 6;",
        reference_solution="error: cannot assign twice",
        grading_criteria=["The predicted output matches the lesson's: error."],
        difficulty=2,
        concept_ids=[],
    )
    pointers = CoursePointers(exercise, [shadowing, mutable, elsewhere], frozenset({str(MATERIAL)}))

    # No criterion word is a concept's; the listing in the task uses `mut`.
    assert pointers.concepts_for("The predicted output matches the lesson's: error.") == [mutable]
    assert pointers.concepts_for("Explains shadowing a variable") == [shadowing]

    unrelated = Exercise(
        id=uuid.uuid4(),
        lesson_id=lesson_id,
        position=2,
        description="Report what the command printed.",
        reference_solution="ok",
        grading_criteria=[],
        difficulty=1,
        concept_ids=[],
    )
    fallback = CoursePointers(
        unrelated, [shadowing, mutable, elsewhere], frozenset({str(MATERIAL)})
    )
    # Nothing shares a word: the lesson's first concept, never one of another lesson, never none.
    assert fallback.concepts_for("The report is complete.") == [shadowing]
    assert fallback.locations(fallback.concepts_for("x")) == [
        {"concept_id": str(shadowing.id), "concept": "Shadowing", "material_id": str(MATERIAL),
         "url": "ch03.html#a"}
    ]  # fmt: skip
