"""`course-supporter grade` on a hand-made JSONL file, and its one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SAMPLE = Path(__file__).parents[1] / "data" / "grading_sample.jsonl"


def run_grade(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "course_supporter", "grade", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_reviews_calibrate_and_every_other_line_is_graded(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    result = run_grade(str(SAMPLE), "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = {row["id"]: row for row in map(json.loads, out.read_text().splitlines())}
    assert set(rows) == {"v-good", "v-typos", "v-off", "v-empty", "v-inject"}
    assert set(rows["v-good"]) == {"id", "score", "label", "confidence", "needs_review"}
    assert rows["v-good"]["label"] == "correct"
    assert rows["v-good"]["score"] > rows["v-typos"]["score"] > rows["v-off"]["score"]
    assert rows["v-empty"]["score"] == 0
    assert rows["v-inject"]["needs_review"] is True
    assert "2 reviews" in result.stdout


def test_evaluate_prints_agreement_with_the_human_scores(tmp_path: Path) -> None:
    result = run_grade(str(SAMPLE), "--out", str(tmp_path / "out.jsonl"), "--evaluate")
    assert result.returncode == 0, result.stderr
    assert "r = " in result.stdout and "RMSE = " in result.stdout and "QWK = " in result.stdout


def test_a_malformed_line_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    lines = SAMPLE.read_text().splitlines()
    bad.write_text("\n".join([lines[0], "{not json", *lines[1:]]) + "\n")
    result = run_grade(str(bad), "--out", str(tmp_path / "out.jsonl"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {bad}: line 2: not JSON (Expecting property name enclosed in double quotes)"
    ]
    assert not (tmp_path / "out.jsonl").exists()


def test_a_missing_field_and_an_out_of_range_score_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "question": "q", "answer": "a", "max_score": 5}\n')
    result = run_grade(str(bad), "--out", str(tmp_path / "o.jsonl"))
    assert result.returncode == 1
    assert "line 1: reference_answer: Field required" in result.stderr
    row = json.loads(SAMPLE.read_text().splitlines()[0]) | {"score": 7}
    bad.write_text(json.dumps(row) + "\n")
    result = run_grade(str(bad), "--out", str(tmp_path / "o.jsonl"))
    assert result.returncode == 1
    assert "line 1" in result.stderr and "outside" in result.stderr
