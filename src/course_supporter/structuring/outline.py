"""A course structure as a readable Markdown outline, references named by their material."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from course_supporter.structuring.schemas import Concept, CourseStructure, Lesson


def render_markdown(structure: CourseStructure, labels: Mapping[UUID, str]) -> str:
    lines = [f"# {structure.title}", ""]
    for text, label in (
        (structure.description, None),
        (structure.learning_goal, "Learning goal"),
    ):
        if text:
            lines += [f"**{label}:** {text}" if label else text, ""]
    for number, module in enumerate(structure.modules, start=1):
        lines += [f"## {number}. {module.title} ({module.difficulty})", ""]
        if module.learning_goal:
            lines += [f"*Goal:* {module.learning_goal}", ""]
        for l_number, lesson in enumerate(module.lessons, start=1):
            lines.append(f"### {number}.{l_number} {lesson.title}{_lesson_span(lesson, labels)}")
            lines.append("")
            for concept in lesson.concepts:
                lines.append(f"- **{concept.title}**: {concept.definition}{_refs(concept, labels)}")
            for exercise in lesson.exercises:
                lines.append(
                    f"- *Exercise (difficulty {exercise.difficulty}):* {exercise.description}"
                )
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _lesson_span(lesson: Lesson, labels: Mapping[UUID, str]) -> str:
    parts = []
    if lesson.video_material_id and lesson.video_start:
        end = f"-{lesson.video_end}" if lesson.video_end else ""
        parts.append(f"{labels.get(lesson.video_material_id, 'video')} {lesson.video_start}{end}")
    if lesson.slides_material_id and lesson.slide_start:
        end = f"-{lesson.slide_end}" if lesson.slide_end else ""
        slides = labels.get(lesson.slides_material_id, "slides")
        parts.append(f"{slides} slides {lesson.slide_start}{end}")
    return f" ({'; '.join(parts)})" if parts else ""


def _refs(concept: Concept, labels: Mapping[UUID, str]) -> str:
    cited = [
        *(f"{labels.get(r.material_id, '?')} @ {r.timecode}" for r in concept.timecodes),
        *(f"{labels.get(r.material_id, '?')} slide {r.slide}" for r in concept.slide_references),
        *(f"{labels.get(r.material_id, '?')} p. {r.page}" for r in concept.page_references),
        *(r.url for r in concept.web_references),
    ]
    return f" - {'; '.join(cited)}" if cited else ""
