"""What a teacher checks in a generated structure, as ratios: no reference structure needed."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from course_supporter.structuring.evals import title_similarity
from course_supporter.structuring.schemas import CourseStructure
from course_supporter.structuring.terms import FUNCTION_WORDS, VERBS_OF_A_CLAUSE

OUTLINE_MATCH_THRESHOLD = 85.0
TEMPLATE_REPEATS = 3
"""A description shared (names aside) by this many exercises is a fill-in template."""
OLD_TEMPLATES = (
    re.compile(r"^Explain in your own words what .+ is\.$"),
    re.compile(r"^Give your own example of .+ and say why it fits\.$"),
    re.compile(r"^How are .+ and .+ related\? Compare them\.$"),
)
BOILERPLATE_TITLE = re.compile(
    r"^(?:keyboard shortcuts|table of contents|contents|index|search|menu|navigation|"
    r"previous|next|print this book|copyright|licen[cs]e|gnu free documentation license|"
    r"copying information|concept index|function and data index|title: .*|\w+: .*\w+: .*)$",
    re.IGNORECASE,
)
CODE_NOISE = re.compile(r"[{};=]|\(\S*\)\s*\S|^\W|//|->")
QUOTED = re.compile(r"“[^”]*”|\n\n.*", re.DOTALL)


@dataclass(frozen=True)
class QualityReport:
    """The per-corpus figures of the real-materials benchmark."""

    lessons: int
    empty_lessons: int
    outline_entries: int
    outline_found: int
    boilerplate_titles: int
    concepts: int
    fragment_concepts: int
    references: int
    references_holding_term: int
    exercises: int
    template_exercises: int

    @property
    def empty_ratio(self) -> float:
        return self.empty_lessons / self.lessons if self.lessons else 0.0

    @property
    def outline_ratio(self) -> float:
        return self.outline_found / self.outline_entries if self.outline_entries else 1.0

    @property
    def fragment_ratio(self) -> float:
        return self.fragment_concepts / self.concepts if self.concepts else 0.0

    @property
    def holding_ratio(self) -> float:
        return self.references_holding_term / self.references if self.references else 1.0

    @property
    def template_ratio(self) -> float:
        return self.template_exercises / self.exercises if self.exercises else 0.0


def is_fragment(title: str) -> bool:
    """A concept title a teacher would strike: a sentence piece, a function word, code noise."""
    words = [w.lower().strip(".,;:!?\"'()") for w in title.split()]
    if not words or len(words) > 6 or title.rstrip()[-1:] in ".,;:!?":
        return True
    if words[0] in FUNCTION_WORDS or words[-1] in FUNCTION_WORDS:
        return True
    if any(w in VERBS_OF_A_CLAUSE for w in words):
        return True
    return bool(" " in title and CODE_NOISE.search(title))


def is_boilerplate(title: str, extra: Iterable[str] = ()) -> bool:
    """A module or lesson title that is the site's, the navigation's or front matter's."""
    stripped = title.strip()
    return bool(BOILERPLATE_TITLE.match(stripped)) or stripped.lower() in {e.lower() for e in extra}


def template_exercises(structure: CourseStructure) -> int:
    """Exercises that are fill-in templates: an old template, or a description repeated once
    the concept and lesson names are taken out and material it quotes is absent."""
    names = sorted(
        {
            name
            for module in structure.modules
            for lesson in module.lessons
            for name in [lesson.title, *(c.title for c in lesson.concepts)]
            if name
        },
        key=len,
        reverse=True,
    )
    pattern = re.compile("|".join(re.escape(n) for n in names)) if names else None
    shapes: list[str] = []
    old = 0
    for module in structure.modules:
        for lesson in module.lessons:
            for exercise in lesson.exercises:
                text = exercise.description
                if any(t.match(text) for t in OLD_TEMPLATES):
                    old += 1
                    shapes.append("")
                    continue
                shape = pattern.sub("X", text) if pattern else text
                shapes.append(shape if not QUOTED.search(text) else text)
    counts = Counter(s for s in shapes if s)
    return old + sum(1 for s in shapes if s and counts[s] >= TEMPLATE_REPEATS)


def assess(
    structure: CourseStructure,
    outline: Sequence[str],
    *,
    references_without_term: int,
    boilerplate: Iterable[str] = (),
) -> QualityReport:
    """Figures for `structure`, built from materials whose own outline is `outline`.

    `references_without_term` is what the reference check dropped for lacking the term;
    the references left in `structure` all hold it.
    """
    lessons = [lesson for module in structure.modules for lesson in module.lessons]
    titles = [m.title for m in structure.modules] + [lesson.title for lesson in lessons]
    extra = list(boilerplate)
    # An outline entry that is itself boilerplate (`See also`) is one no title may repeat.
    outline = [entry for entry in outline if not is_boilerplate(entry, extra)]
    found = sum(
        1
        for entry in outline
        if any(title_similarity(entry, t) >= OUTLINE_MATCH_THRESHOLD for t in titles)
    )
    concepts = [c for lesson in lessons for c in lesson.concepts]
    kept = sum(
        len(c.page_references) + len(c.slide_references) + len(c.timecodes) + len(c.web_references)
        for c in concepts
    )
    return QualityReport(
        lessons=len(lessons),
        empty_lessons=sum(1 for lesson in lessons if not (lesson.concepts or lesson.exercises)),
        outline_entries=len(outline),
        outline_found=found,
        boilerplate_titles=sum(1 for t in titles if is_boilerplate(t, extra)),
        concepts=len(concepts),
        fragment_concepts=sum(1 for c in concepts if is_fragment(c.title)),
        references=kept + references_without_term,
        references_holding_term=kept,
        exercises=sum(len(lesson.exercises) for lesson in lessons),
        template_exercises=template_exercises(structure),
    )


TARGETS = {
    "empty": 0.10,
    "outline": 0.80,
    "boilerplate": 0,
    "fragments": 0.05,
    "holding": 0.90,
    "templates": 0.50,
}


def misses(report: QualityReport) -> list[str]:
    """The targets `report` misses, named; empty when it meets them all."""
    checks = [
        ("empty lessons", report.empty_ratio <= TARGETS["empty"]),
        ("outline found", report.outline_ratio >= TARGETS["outline"]),
        ("boilerplate titles", report.boilerplate_titles <= TARGETS["boilerplate"]),
        ("fragment concepts", report.fragment_ratio <= TARGETS["fragments"]),
        ("references holding the term", report.holding_ratio >= TARGETS["holding"]),
        ("template exercises", report.template_ratio <= TARGETS["templates"]),
    ]
    return [name for name, ok in checks if not ok]
