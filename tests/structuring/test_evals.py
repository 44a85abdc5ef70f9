"""Scoring a structure against a reference."""

from __future__ import annotations

from course_supporter.structuring.evals import evaluate, kendall_tau, match_titles, render_report
from course_supporter.structuring.schemas import CourseStructure


def test_identical_structures_score_one(tutorial_reference: CourseStructure) -> None:
    report = evaluate(tutorial_reference, tutorial_reference)

    assert report.modules.f1 == report.lessons.f1 == report.concepts.f1 == 1.0
    assert report.module_order_tau == report.lesson_order_tau == 1.0
    assert report.overall == 1.0


def test_reversed_modules_and_missing_concepts_lower_the_score(
    tutorial_reference: CourseStructure,
) -> None:
    generated = tutorial_reference.model_copy(deep=True)
    generated.modules.reverse()
    for module in generated.modules:
        for lesson in module.lessons:
            lesson.concepts = lesson.concepts[:1]

    report = evaluate(generated, tutorial_reference)

    assert report.module_order_tau == -1.0
    assert report.concepts.precision == 1.0
    assert report.concepts.recall == 12 / 23
    assert report.overall < 0.8


def test_titles_match_fuzzily_and_one_to_one() -> None:
    pairs = match_titles(
        ["Branching & merging", "Intro", "Branching and Merging"],
        ["Branching and merging", "Introduction to Git"],
        threshold=80,
    )

    assert [(g, r) for g, r, _ in pairs] == [(2, 0)]


def test_kendall_tau() -> None:
    assert kendall_tau([(0, 0, 100), (1, 1, 100), (2, 2, 100)]) == 1.0
    assert kendall_tau([(0, 1, 100), (1, 0, 100)]) == -1.0
    assert kendall_tau([(0, 0, 100)]) == 1.0


def test_report_renders_as_a_table(tutorial_reference: CourseStructure) -> None:
    table = render_report(evaluate(tutorial_reference, tutorial_reference))

    lines = table.splitlines()
    assert lines[0].split() == ["generated", "reference", "matched", "precision", "recall", "F1"]
    assert lines[2].split() == ["modules", "4", "4", "4", "1.00", "1.00", "1.00"]
    assert "overall score:" in table and "Kendall tau" in table
