"""`build` (materials → structure, no server) and `eval` (score a structure)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated
from urllib.parse import urlparse

import typer

from course_supporter.cli_support import fail
from course_supporter.llm.strategy import Strategy

VIDEO_HOSTS = ("youtube.com", "youtu.be", "vimeo.com")


def source_type_of(item: str) -> str:
    """`web`/`video` for URLs (by host); by file extension otherwise."""
    from course_supporter.ingestion.formats import ALLOWED_EXTENSIONS, extension_of

    if item.startswith(("http://", "https://")):
        host = urlparse(item).hostname or ""
        return "video" if host.endswith(VIDEO_HOSTS) else "web"
    extension = extension_of(item)
    for source_type, extensions in ALLOWED_EXTENSIONS.items():
        if extension in extensions:
            return source_type
    raise typer.BadParameter(f"{item}: unsupported file type {extension or '(none)'}")


def expand_inputs(items: list[str]) -> list[str]:
    """Files and URLs as given; a directory becomes its supported files in name order."""
    from course_supporter.ingestion.formats import ALLOWED_EXTENSIONS, extension_of

    expanded: list[str] = []
    for item in items:
        path = Path(item)
        if item.startswith(("http://", "https://")):
            expanded.append(item)
        elif path.is_dir():
            supported = set().union(*ALLOWED_EXTENSIONS.values())
            expanded += [
                str(p) for p in sorted(path.iterdir()) if extension_of(p.name) in supported
            ]
        elif path.is_file():
            expanded.append(item)
        else:
            raise typer.BadParameter(f"{item}: no such file or directory")
    if not expanded:
        raise typer.BadParameter("no supported materials found")
    return expanded


def build(
    inputs: Annotated[list[str], typer.Argument(help="Files, folders or URLs.")],
    out: Annotated[Path, typer.Option(help="Structure as JSON.")] = Path("course.json"),
    markdown: Annotated[Path | None, typer.Option(help="Also a Markdown outline.")] = None,
    title: Annotated[str | None, typer.Option(help="Course title.")] = None,
    strategy: Annotated[Strategy, typer.Option(help="Model routing strategy.")] = Strategy.DEFAULT,
) -> None:
    """Turn course materials into a structure, offline unless provider keys are set."""
    import asyncio

    from course_supporter.config import get_settings
    from course_supporter.db import new_id
    from course_supporter.ingestion.errors import IngestionError, RedirectPage
    from course_supporter.ingestion.extract import extract_document
    from course_supporter.ingestion.merge import MaterialDocument, build_course_context
    from course_supporter.llm.router import CallLog
    from course_supporter.structuring.architect import generate_structure
    from course_supporter.structuring.outline import render_markdown

    try:
        items = expand_inputs(inputs)
        typed = [(item, source_type_of(item)) for item in items]
    except typer.BadParameter as exc:
        fail(str(exc.message))
    settings = get_settings()
    materials: list[MaterialDocument] = []
    with _progress(len(typed)) as advance:
        for item, source_type in typed:
            is_url = item.startswith(("http://", "https://"))
            try:
                document = asyncio.run(
                    extract_document(
                        source_type,
                        path=None if is_url else Path(item),
                        url=item if is_url else None,
                        filename=item if is_url else Path(item).name,
                        settings=settings,
                    )
                )
            except RedirectPage as exc:
                advance(f"{Path(item).name} (skipped: redirects to {exc.target})")
                continue
            except IngestionError as exc:
                fail(f"{item}: {exc.message}")
            label = item if is_url else Path(item).name
            # Time-ordered ids keep the materials in the order given.
            materials.append(MaterialDocument(new_id(), source_type, label, document))
            advance(label)
    context = build_course_context(materials, {})
    log = CallLog()
    result = asyncio.run(
        generate_structure(
            context.materials, settings=settings, recorder=log, strategy=strategy, title=title
        )
    )
    payload = result.structure.model_dump(mode="json")
    payload["materials"] = {str(m.material_id): m.label for m in context.materials}
    out.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    if markdown is not None:
        labels = {m.material_id: m.label for m in context.materials}
        markdown.write_text(render_markdown(result.structure, labels))
    lessons = sum(len(m.lessons) for m in result.structure.modules)
    typer.echo(
        f"{len(result.structure.modules)} modules, {lessons} lessons from {len(materials)} "
        f"materials by {result.provider}:{result.model_used}; "
        f"{result.dropped_references} references dropped; cost ${result.cost_usd} → {out}"
    )


class _progress:
    """A progress bar on a terminal, one plain line per material otherwise."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.bar: typer.progressbar | None = None  # type: ignore[valid-type]

    def __enter__(self) -> Callable[[str], None]:
        if sys.stderr.isatty():
            self.bar = typer.progressbar(length=self.total, label="Ingesting", file=sys.stderr)
            self.bar.__enter__()
        done = 0

        def advance(label: str) -> None:
            nonlocal done
            done += 1
            if self.bar is not None:
                self.bar.update(1)
            else:
                typer.echo(f"[{done}/{self.total}] ingested {label}", err=True)

        return advance

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def evaluate_command(
    generated: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    reference: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
) -> None:
    """Score GENERATED against REFERENCE: titles, concept coverage and precision, order."""
    from course_supporter.structuring.evals import evaluate, render_report
    from course_supporter.structuring.schemas import CourseStructure

    try:
        ours = CourseStructure.model_validate_json(generated.read_text())
        theirs = CourseStructure.model_validate_json(reference.read_text())
    except ValueError as exc:
        fail(f"not a course structure: {str(exc).splitlines()[0]}")
    typer.echo(render_report(evaluate(ours, theirs)))
