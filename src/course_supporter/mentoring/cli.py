"""`grade`: the offline grader over a JSONL file of answers."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from course_supporter.cli_support import fail


def grade(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT.jsonl", help="Answers, one a line.")],
    out: Annotated[Path, typer.Option(help="Verdicts, one a line.")],
    evaluate: Annotated[
        bool,
        typer.Option(help="Grade every line; its `score` is the human grade to compare with."),
    ] = False,
) -> None:
    """Grade answers offline; lines with a `score` are teacher reviews that calibrate."""
    from course_supporter.mentoring.harness import GradingFileError, grade_lines, parse_lines

    try:
        with input_path.open(encoding="utf-8") as lines:
            parsed = parse_lines(lines)
    except OSError as exc:
        fail(f"{input_path}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        fail(f"{input_path}: not UTF-8 text")
    except GradingFileError as exc:
        fail(f"{input_path}: {exc.message}")

    show_progress = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if done == total or done % 100 == 0:
            typer.echo(f"\rgraded {done}/{total}", err=True, nl=done == total)

    rows, report = grade_lines(
        parsed, evaluate=evaluate, progress=progress if show_progress else None
    )
    try:
        with out.open("w", encoding="utf-8") as output:
            for row in rows:
                output.write(json.dumps(row, ensure_ascii=False) + "\n")
    except OSError as exc:
        fail(f"{out}: {exc.strerror or exc}")
    typer.echo(f"graded {report.graded} answers ({report.reviews} reviews used) → {out}")
    if report.pearson_r is not None or report.rmse is not None:

        def shown(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.3f}"

        typer.echo(
            f"against the human scores: r = {shown(report.pearson_r)}, "
            f"RMSE = {shown(report.rmse)}, QWK = {shown(report.qwk)}"
        )
