"""Offline grader on real short answers: Pearson r and RMSE against the human scores.

    .venv/bin/python benchmarks/grading.py [--data ../shared/grading/unt-cs-dev.jsonl]
        [--reviews 5] [--seeds 5] [--check]

Three figures in one run, each over every question of the file:
- the stemmed-recall baseline (share of the reference's stemmed words the answer has);
- the grader zero-shot (no reviewed answer of any question);
- the grader with N reviewed answers per question, scored on that question's other answers
  (averaged over several random draws of the reviewed answers).
Then answers per second on one core. `--check` exits 1 below the targets.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import snowballstemmer

from course_supporter.mentoring.agreement import pearson, rmse
from course_supporter.mentoring.offline import (
    STOPWORDS,
    WORD,
    GradingQuestion,
    OfflineGrader,
    Review,
)

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "grading" / "unt-cs-dev.jsonl"
TARGETS = {"zero-shot": (0.55, 1.2), "reviews": (0.62, 0.95)}
THROUGHPUT_TARGET = 500.0


def load(path: Path) -> dict[str, list[dict[str, object]]]:
    by_question: dict[str, list[dict[str, object]]] = defaultdict(list)
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            by_question[row["question_id"]].append(row)
    return by_question


def stemmed_recall(reference: str, answer: str) -> float:
    stemmer = snowballstemmer.stemmer("english")

    def stems(text: str) -> set[str]:
        words = (w.lower() for w in WORD.findall(text))
        return {stemmer.stemWord(w) for w in words if w not in STOPWORDS}

    wanted = stems(reference)
    return len(wanted & stems(answer)) / len(wanted) if wanted else 0.0


def question_of(row: dict[str, object]) -> GradingQuestion:
    return GradingQuestion(
        question=str(row["question"]),
        reference=str(row["reference_answer"]),
        max_points=float(row["max_score"]),  # type: ignore[arg-type]
    )


def zero_shot(by_question: dict[str, list[dict[str, object]]]) -> tuple[list[float], list[float]]:
    predicted, human = [], []
    for rows in by_question.values():
        grader = OfflineGrader(question_of(rows[0]))
        for row in rows:
            predicted.append(grader.grade(str(row["answer"])).score)
            human.append(float(row["score"]))  # type: ignore[arg-type]
    return predicted, human


def with_reviews(
    by_question: dict[str, list[dict[str, object]]], count: int, seed: int
) -> tuple[list[float], list[float]]:
    draw = random.Random(seed)
    predicted, human = [], []
    for question_id in sorted(by_question):
        rows = list(by_question[question_id])
        draw.shuffle(rows)
        reviewed, graded = rows[:count], rows[count:]
        reviews = [Review(str(r["answer"]), float(r["score"])) for r in reviewed]  # type: ignore[arg-type]
        grader = OfflineGrader(question_of(rows[0]), reviews)
        for row in graded:
            predicted.append(grader.grade(str(row["answer"])).score)
            human.append(float(row["score"]))  # type: ignore[arg-type]
    return predicted, human


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--reviews", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--check", action="store_true")
    options = parser.parse_args()
    if not options.data.is_file():
        print(f"error: {options.data} not found", file=sys.stderr)
        return 2
    by_question = load(options.data)
    answers = sum(len(rows) for rows in by_question.values())
    print(f"{options.data.name}: {answers} answers to {len(by_question)} questions")

    baseline = [
        stemmed_recall(str(r["reference_answer"]), str(r["answer"]))
        for rows in by_question.values()
        for r in rows
    ]
    humans = [float(r["score"]) for rows in by_question.values() for r in rows]  # type: ignore[arg-type]
    print(f"  stemmed-recall baseline   r = {pearson(baseline, humans):.3f}")

    started = time.process_time()
    predicted, human = zero_shot(by_question)
    elapsed = time.process_time() - started
    results = {"zero-shot": (pearson(predicted, human), rmse(predicted, human))}
    print(
        f"  zero-shot                 r = {results['zero-shot'][0]:.3f}  "
        f"RMSE = {results['zero-shot'][1]:.3f}"
    )

    rs, errors = [], []
    for seed in range(options.seeds):
        predicted, human = with_reviews(by_question, options.reviews, seed)
        rs.append(pearson(predicted, human))
        errors.append(rmse(predicted, human))
    results["reviews"] = (sum(rs) / len(rs), sum(errors) / len(errors))
    spread = max(rs) - min(rs)
    print(
        f"  {options.reviews} reviews per question    r = {results['reviews'][0]:.3f}  "
        f"RMSE = {results['reviews'][1]:.3f}  ({options.seeds} draws, r spread {spread:.3f}; "
        "scored on the other answers)"
    )

    throughput = answers / elapsed if elapsed > 0 else math.inf
    print(f"  throughput                {throughput:,.0f} answers/s (CPU time, one core)")

    failed = [
        name
        for name, (r, error) in results.items()
        if r < TARGETS[name][0] or error > TARGETS[name][1]
    ]
    if throughput < THROUGHPUT_TARGET:
        failed.append("throughput")
    if failed:
        print(f"  below target: {', '.join(failed)}")
    return 1 if options.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
