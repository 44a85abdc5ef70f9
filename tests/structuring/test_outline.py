"""The outline renderer: one layout, Markdown and HTML, references as links where they can be."""

from __future__ import annotations

import uuid

from course_supporter.structuring.outline import MaterialLink, render_outline
from course_supporter.structuring.schemas import CourseStructure

VIDEO, PDF, WEB = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
MATERIALS = {
    VIDEO: MaterialLink("Lecture 1", "https://video.example/watch?v=abc"),
    PDF: MaterialLink("notes.pdf"),
    WEB: MaterialLink("https://docs.example/guide", "https://docs.example/guide"),
}


def structure() -> CourseStructure:
    return CourseStructure.model_validate(
        {
            "title": "Git & <friends>",
            "modules": [
                {
                    "title": "Basics",
                    "lessons": [
                        {
                            "title": "Commits",
                            "video_material_id": str(VIDEO),
                            "video_start": "00:01:05",
                            "concepts": [
                                {
                                    "title": "Commit",
                                    "definition": "A snapshot *of* the tree.",
                                    "timecodes": [
                                        {"material_id": str(VIDEO), "timecode": "00:01:05"}
                                    ],
                                    "page_references": [{"material_id": str(PDF), "page": 3}],
                                    "web_references": [
                                        {
                                            "material_id": str(WEB),
                                            "url": "https://docs.example/guide#commit",
                                        }
                                    ],
                                }
                            ],
                            "exercises": [
                                {"description": "Commit twice.", "reference_solution": "",
                                 "difficulty": 2}
                            ],
                        }
                    ],
                }
            ],
        }
    )  # fmt: skip


def test_markdown_links_video_times_and_web_anchors() -> None:
    text = render_outline(structure(), MATERIALS, "markdown")
    assert text.startswith("# Git & \\<friends\\>\n")
    assert "## 1. Basics (medium)" in text
    assert (
        "### 1.1 Commits ([Lecture 1 00:01:05](<https://video.example/watch?v=abc#t=65>))" in text
    )
    assert "- **Commit**: A snapshot \\*of\\* the tree." in text
    assert "notes.pdf p. 3" in text
    assert "[https://docs.example/guide#commit](<https://docs.example/guide#commit>)" in text
    assert "- *Exercise (difficulty 2):* Commit twice." in text


def test_html_is_one_escaped_page() -> None:
    page = render_outline(structure(), MATERIALS, "html")
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>Git &amp; &lt;friends&gt;</title>" in page
    assert '<a href="https://video.example/watch?v=abc#t=65">Lecture 1 00:01:05</a>' in page
    assert "<ul>\n<li><strong>Commit</strong>" in page
    assert page.count("<ul>") == page.count("</ul>") == 1
