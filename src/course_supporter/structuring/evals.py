"""Score a generated course structure against a reference one and print the scores as a table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, utils

from course_supporter.structuring.schemas import CourseStructure

TITLE_MATCH_THRESHOLD = 80.0
CONCEPT_MATCH_THRESHOLD = 85.0


@dataclass(frozen=True)
class MatchScore:
    """How two lists of titles match one-to-one: counts, precision, recall, F1."""

    generated: int
    reference: int
    matched: int
    mean_similarity: float

    @property
    def precision(self) -> float:
        return self.matched / self.generated if self.generated else 0.0

    @property
    def recall(self) -> float:
        return self.matched / self.reference if self.reference else 0.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


@dataclass(frozen=True)
class EvalReport:
    """Title matching of modules and lessons, concept coverage and precision, order agreement."""

    modules: MatchScore
    lessons: MatchScore
    concepts: MatchScore
    module_order_tau: float
    lesson_order_tau: float

    @property
    def overall(self) -> float:
        """One number in [0, 1]: the mean of the three F1 scores and the two rescaled taus."""
        taus = (self.module_order_tau + 1) / 2 + (self.lesson_order_tau + 1) / 2
        return (self.modules.f1 + self.lessons.f1 + self.concepts.f1 + taus) / 5


def title_similarity(a: str, b: str) -> float:
    """Similarity of two titles in [0, 100], insensitive to case, punctuation and word order."""
    return float(fuzz.token_sort_ratio(a, b, processor=utils.default_process))


def match_titles(
    generated: Sequence[str], reference: Sequence[str], threshold: float
) -> list[tuple[int, int, float]]:
    """One-to-one pairs (generated index, reference index, similarity), best pairs first."""
    candidates = sorted(
        (
            (score, g, r)
            for g, gen in enumerate(generated)
            for r, ref in enumerate(reference)
            if (score := title_similarity(gen, ref)) >= threshold
        ),
        key=lambda item: (-item[0], item[1], item[2]),
    )
    used_generated: set[int] = set()
    used_reference: set[int] = set()
    pairs: list[tuple[int, int, float]] = []
    for score, g, r in candidates:
        if g not in used_generated and r not in used_reference:
            used_generated.add(g)
            used_reference.add(r)
            pairs.append((g, r, score))
    return pairs


def kendall_tau(pairs: Sequence[tuple[int, int, float]]) -> float:
    """Kendall's tau between generated and reference positions of matched items; 1.0 below two."""
    if len(pairs) < 2:
        return 1.0
    concordant = discordant = 0
    for i, (g1, r1, _) in enumerate(pairs):
        for g2, r2, _ in pairs[i + 1 :]:
            sign = (g1 - g2) * (r1 - r2)
            concordant += sign > 0
            discordant += sign < 0
    total = len(pairs) * (len(pairs) - 1) / 2
    return (concordant - discordant) / total


def _score(
    generated: Sequence[str], reference: Sequence[str], threshold: float
) -> tuple[MatchScore, list[tuple[int, int, float]]]:
    pairs = match_titles(generated, reference, threshold)
    mean = sum(score for _, _, score in pairs) / len(pairs) / 100 if pairs else 0.0
    return MatchScore(len(generated), len(reference), len(pairs), mean), pairs


def evaluate(generated: CourseStructure, reference: CourseStructure) -> EvalReport:
    """Compare `generated` with `reference` title by title, concept by concept, in order."""
    modules, module_pairs = _score(
        [m.title for m in generated.modules],
        [m.title for m in reference.modules],
        TITLE_MATCH_THRESHOLD,
    )
    lessons, lesson_pairs = _score(
        [lesson.title for m in generated.modules for lesson in m.lessons],
        [lesson.title for m in reference.modules for lesson in m.lessons],
        TITLE_MATCH_THRESHOLD,
    )
    concepts, _ = _score(
        [c.title for m in generated.modules for lesson in m.lessons for c in lesson.concepts],
        [c.title for m in reference.modules for lesson in m.lessons for c in lesson.concepts],
        CONCEPT_MATCH_THRESHOLD,
    )
    return EvalReport(
        modules, lessons, concepts, kendall_tau(module_pairs), kendall_tau(lesson_pairs)
    )


def render_report(report: EvalReport) -> str:
    """The report as a plain-text table."""
    rows = [("", "generated", "reference", "matched", "precision", "recall", "F1")]
    for name, score in (
        ("modules", report.modules),
        ("lessons", report.lessons),
        ("concepts", report.concepts),
    ):
        rows.append(
            (
                name,
                str(score.generated),
                str(score.reference),
                str(score.matched),
                f"{score.precision:.2f}",
                f"{score.recall:.2f}",
                f"{score.f1:.2f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(f"module order (Kendall tau): {report.module_order_tau:+.2f}")
    lines.append(f"lesson order (Kendall tau): {report.lesson_order_tau:+.2f}")
    lines.append(f"overall score:              {report.overall:.2f}")
    return "\n".join(lines)
