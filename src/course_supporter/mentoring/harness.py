"""The JSONL harness behind `course-supporter grade`: reviews calibrate, the rest is graded."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from course_supporter.errors import DomainError
from course_supporter.mentoring.agreement import (
    pearson,
    quadratic_weighted_kappa,
    rmse,
    score_bands,
)
from course_supporter.mentoring.offline import GradingQuestion, OfflineGrader, Review

DEFAULT_REVIEW_BELOW = 0.4
"""Confidence under which a verdict asks for a teacher (tenants set their own)."""


class GradingLine(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str | int
    question: str
    reference_answer: str
    answer: str
    max_score: float = Field(gt=0)
    question_id: str | int | None = None
    criteria: list[str] = Field(default_factory=list)
    score: float | None = None

    @model_validator(mode="after")
    def _score_within_points(self) -> GradingLine:
        if self.score is not None and not 0 <= self.score <= self.max_score:
            raise ValueError(f"score {self.score:g} is outside 0…{self.max_score:g}")
        return self

    @property
    def group(self) -> str:
        return str(self.question_id) if self.question_id is not None else self.question


class GradingFileError(DomainError):
    """A line of the input is not a grading line."""


@dataclass(frozen=True)
class HarnessReport:
    graded: int
    reviews: int
    pearson_r: float | None
    rmse: float | None
    qwk: float | None


def parse_lines(lines: Iterable[str]) -> list[GradingLine]:
    """Every non-blank line as a GradingLine; the first bad one raises, naming its number."""
    parsed = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            parsed.append(GradingLine.model_validate(json.loads(line)))
        except json.JSONDecodeError as exc:
            raise GradingFileError(f"line {number}: not JSON ({exc.msg})") from None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "line"
            raise GradingFileError(f"line {number}: {where}: {first['msg']}") from None
    return parsed


def grade_lines(
    lines: list[GradingLine],
    *,
    evaluate: bool = False,
    review_below: float = DEFAULT_REVIEW_BELOW,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[dict[str, object]], HarnessReport]:
    """Output rows for the graded lines and, where humans scored them, the agreement.

    With `evaluate`, every line is graded and its `score` is the human grade to compare with;
    otherwise a line with a `score` is a review that calibrates its question.
    """
    reviews: dict[str, list[Review]] = defaultdict(list)
    to_grade = []
    for line in lines:
        if line.score is not None and not evaluate:
            reviews[line.group].append(Review(line.answer, line.score))
        else:
            to_grade.append(line)
    graders: dict[str, OfflineGrader] = {}
    rows: list[dict[str, object]] = []
    predicted, human = [], []
    for done, line in enumerate(to_grade, start=1):
        grader = graders.get(line.group)
        if grader is None:
            question = GradingQuestion(
                line.question, line.reference_answer, tuple(line.criteria), line.max_score
            )
            grader = graders[line.group] = OfflineGrader(question, reviews.get(line.group, ()))
        verdict = grader.grade(line.answer)
        rows.append(
            {
                "id": line.id,
                "score": verdict.score,
                "label": verdict.label,
                "confidence": verdict.confidence,
                "needs_review": verdict.instructs_grader or verdict.confidence < review_below,
            }
        )
        if line.score is not None:
            predicted.append(verdict.score)
            human.append(line.score)
        if progress:
            progress(done, len(to_grade))
    top = max((line.max_score for line in to_grade), default=5.0)
    qwk = (
        quadratic_weighted_kappa(
            score_bands(predicted, top), score_bands(human, top), round(top) + 1
        )
        if predicted
        else None
    )
    report = HarnessReport(
        len(to_grade),
        sum(len(r) for r in reviews.values()),
        pearson(predicted, human),
        rmse(predicted, human),
        qwk,
    )
    return rows, report
