"""A course structure as a readable outline, Markdown or a printable HTML page.

One renderer lays the outline out as blocks of text and links; two writers spell the blocks
in Markdown or HTML, escaping every piece of text the course holds.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlparse
from uuid import UUID

from course_supporter.structuring.schemas import (
    Concept,
    CourseStructure,
    Lesson,
    parse_timecode,
)

OutlineFormat = Literal["markdown", "html"]


@dataclass(frozen=True)
class MaterialLink:
    """How the outline names a material, and its address when it has one (web, video URLs)."""

    label: str
    url: str | None = None


@dataclass(frozen=True)
class Text:
    text: str
    style: Literal["", "strong", "em"] = ""


@dataclass(frozen=True)
class Link:
    text: str
    href: str


Inline = Text | Link
BlockKind = Literal["title", "heading", "subheading", "paragraph", "item"]


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    parts: tuple[Inline, ...]


def render_outline(
    structure: CourseStructure,
    materials: Mapping[UUID, MaterialLink],
    fmt: OutlineFormat = "markdown",
) -> str:
    blocks = list(outline_blocks(structure, materials))
    return write_html(structure.title, blocks) if fmt == "html" else write_markdown(blocks)


def render_markdown(structure: CourseStructure, labels: Mapping[UUID, str]) -> str:
    """The outline of a structure built outside the database (`build --markdown`)."""
    return render_outline(structure, {key: MaterialLink(label) for key, label in labels.items()})


def outline_blocks(
    structure: CourseStructure, materials: Mapping[UUID, MaterialLink]
) -> Iterator[Block]:
    yield Block("title", (Text(structure.title),))
    if structure.description:
        yield Block("paragraph", (Text(structure.description),))
    if structure.learning_goal:
        yield Block(
            "paragraph", (Text("Learning goal:", "strong"), Text(" " + structure.learning_goal))
        )
    for number, module in enumerate(structure.modules, start=1):
        yield Block("heading", (Text(f"{number}. {module.title} ({module.difficulty})"),))
        if module.learning_goal:
            yield Block("paragraph", (Text("Goal:", "em"), Text(" " + module.learning_goal)))
        for l_number, lesson in enumerate(module.lessons, start=1):
            span = _lesson_span(lesson, materials)
            yield Block(
                "subheading",
                (Text(f"{number}.{l_number} {lesson.title}"), *_joined(span, " (", ")")),
            )
            for concept in lesson.concepts:
                refs = _references(concept, materials)
                yield Block(
                    "item",
                    (
                        Text(concept.title, "strong"),
                        Text(": " + concept.definition),
                        *_joined(refs, " - ", ""),
                    ),
                )
            for exercise in lesson.exercises:
                yield Block(
                    "item",
                    (
                        Text(f"Exercise (difficulty {exercise.difficulty}):", "em"),
                        Text(" " + exercise.description),
                    ),
                )


def _joined(parts: list[Inline], before: str, after: str) -> list[Inline]:
    if not parts:
        return []
    joined: list[Inline] = [Text(before)]
    for index, part in enumerate(parts):
        if index:
            joined.append(Text("; "))
        joined.append(part)
    if after:
        joined.append(Text(after))
    return joined


def _at_time(material: MaterialLink, timecode: str, text: str) -> Inline:
    if material.url and _is_web(material.url):
        return Link(text, f"{material.url.split('#', 1)[0]}#t={parse_timecode(timecode)}")
    return Text(text)


def _material(materials: Mapping[UUID, MaterialLink], key: UUID, fallback: str) -> MaterialLink:
    return materials.get(key) or MaterialLink(fallback)


def _lesson_span(lesson: Lesson, materials: Mapping[UUID, MaterialLink]) -> list[Inline]:
    parts: list[Inline] = []
    if lesson.video_material_id and lesson.video_start:
        video = _material(materials, lesson.video_material_id, "video")
        end = f"-{lesson.video_end}" if lesson.video_end else ""
        parts.append(
            _at_time(video, lesson.video_start, f"{video.label} {lesson.video_start}{end}")
        )
    if lesson.slides_material_id and lesson.slide_start:
        slides = _material(materials, lesson.slides_material_id, "slides")
        end = f"-{lesson.slide_end}" if lesson.slide_end else ""
        parts.append(Text(f"{slides.label} slides {lesson.slide_start}{end}"))
    return parts


def _references(concept: Concept, materials: Mapping[UUID, MaterialLink]) -> list[Inline]:
    parts: list[Inline] = []
    for time_ref in concept.timecodes:
        video = _material(materials, time_ref.material_id, "?")
        parts.append(_at_time(video, time_ref.timecode, f"{video.label} {time_ref.timecode}"))
    for slide_ref in concept.slide_references:
        deck = _material(materials, slide_ref.material_id, "?")
        parts.append(Text(f"{deck.label} slide {slide_ref.slide}"))
    for page_ref in concept.page_references:
        document = _material(materials, page_ref.material_id, "?")
        parts.append(Text(f"{document.label} p. {page_ref.page}"))
    for web_ref in concept.web_references:
        parts.append(Link(web_ref.url, web_ref.url) if _is_web(web_ref.url) else Text(web_ref.url))
    return parts


def _is_web(url: str) -> bool:
    return urlparse(url).scheme in {"http", "https"}


# Markdown


_WHITESPACE = re.compile(r"\s+")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
_MARKDOWN_PREFIXES = {"title": "# ", "heading": "## ", "subheading": "### ", "item": "- "}


def _markdown_text(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _WHITESPACE.sub(" ", text))


def _markdown_inline(part: Inline) -> str:
    if isinstance(part, Link):
        href = quote(part.href, safe=":/?#@!$&'*+,;=%-._~")
        return f"[{_markdown_text(part.text)}](<{href}>)"
    marks = {"": "", "strong": "**", "em": "*"}[part.style]
    return f"{marks}{_markdown_text(part.text)}{marks}"


def write_markdown(blocks: list[Block]) -> str:
    lines: list[str] = []
    for index, block in enumerate(blocks):
        text = "".join(_markdown_inline(part) for part in block.parts)
        lines.append(_MARKDOWN_PREFIXES.get(block.kind, "") + text)
        following = blocks[index + 1].kind if index + 1 < len(blocks) else None
        if not (block.kind == "item" and following == "item"):
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# HTML


_HTML_TAGS = {"title": "h1", "heading": "h2", "subheading": "h3", "paragraph": "p", "item": "li"}
_PAGE_STYLE = (
    "body{font-family:Georgia,serif;max-width:46em;margin:2em auto;padding:0 1em;"
    "line-height:1.45;color:#111}h2{margin-top:1.6em;border-bottom:1px solid #ccc}"
    "h3{margin-bottom:.3em}a{color:#0645ad}@media print{a{color:inherit}body{margin:0}}"
)


def _html_inline(part: Inline) -> str:
    if isinstance(part, Link):
        return f'<a href="{html.escape(part.href, quote=True)}">{html.escape(part.text)}</a>'
    tag = {"": "", "strong": "strong", "em": "em"}[part.style]
    text = html.escape(part.text)
    return f"<{tag}>{text}</{tag}>" if tag else text


def write_html(title: str, blocks: list[Block]) -> str:
    body: list[str] = []
    in_list = False
    for block in blocks:
        if block.kind == "item" and not in_list:
            body.append("<ul>")
        elif block.kind != "item" and in_list:
            body.append("</ul>")
        in_list = block.kind == "item"
        tag = _HTML_TAGS[block.kind]
        body.append(f"<{tag}>{''.join(_html_inline(part) for part in block.parts)}</{tag}>")
    if in_list:
        body.append("</ul>")
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_PAGE_STYLE}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
