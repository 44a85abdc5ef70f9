"""The offline grader: stemmed coverage of the reference and criteria, calibrated by reviews."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Literal

import snowballstemmer
from rapidfuzz.distance import Levenshtein

Label = Literal["correct", "partially_correct", "incorrect"]
CriterionStatus = Literal["met", "partial", "missed"]

GRADER_NAME = "offline"
GRADER_VERSION = "offline-v1"

CORRECT_AT = 0.8
"""Fraction of the points from which an answer is `correct`."""
PARTIAL_AT = 0.4
"""Fraction of the points from which an answer is `partially_correct`."""
MET_AT = 0.6
PARTIAL_CRITERION_AT = 0.3
PARTIAL_CRITERION_CREDIT = 0.6

# Zero-shot mapping from coverage to a fraction of the points, fitted once on the development
# split as two global constants (no per-question values): human graders give most of the points
# to an answer that covers about half of the reference's content words.
BASE_FRACTION = 0.6
COVERAGE_SLOPE = 1.0
QUESTION_WORD_WEIGHT = 0.3
"""A word the question already says proves little when the answer repeats it."""
FUZZY_MIN_SIMILARITY = 0.8
"""Normalised edit similarity from which a misspelt word counts (`defintion`, `paramater`)."""
NEIGHBOUR_POWER = 4.0
REVIEW_SHRINK = 2.0
"""Pseudo-count that pulls a few reviews' correction towards zero."""

WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)?")
SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")

_STOPWORDS_TEXT = """
    a an the this that these those it its it's there here what which who whom whose he she
    they we you i me us them my our your their his her such one all some any no not nor so
    if when while because since as also and or but for of to in on at by from with into onto
    over under about after before between through during is are was were be been being am do
    does did doing done has have had having can could shall should will would may might must
    then than just only very too there's that's i.e e.g etc ie eg
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
# Words that keep their meaning under negation are not stopwords here: `not`, `no` are, because
# short answers rarely hinge on them and the reference rarely contains them.

_SYNONYM_GROUPS = (
    "large big huge",
    "small little tiny",
    "fast quick rapid",
    "begin start commence",
    "end finish terminate stop",
    "make create construct build",
    "show display print output",
    "get obtain retrieve fetch",
    "give return",
    "store save hold keep",
    "use utilize utilise employ",
    "change modify alter",
    "location place position address",
    "error bug mistake fault",
    "copy duplicate",
    "method function procedure routine",
    "argument parameter",
    "attribute property field",
    "repeat iterate loop",
    "check test verify",
    "allow let enable permit",
    "need require",
    "whole entire",
    "many multiple several",
    "same identical",
    "information data",
    "memory storage",
    "behaviour behavior",
    "initialise initialize",
)


def _synonym_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for group in _SYNONYM_GROUPS:
        words = group.split()
        canonical = _STEMMER.stemWord(words[0])
        for word in words:
            table[_STEMMER.stemWord(word)] = canonical
    return table


_STEMMER = snowballstemmer.stemmer("english")
_SYNONYMS = _synonym_table()


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The word's stem, with synonyms folded onto one stem."""
    stemmed: str = _STEMMER.stemWord(word)
    return _SYNONYMS.get(stemmed, stemmed)


@dataclass(frozen=True)
class Token:
    stem: str
    start: int
    end: int


RUBRIC_WORDS = frozenset(
    stem(word)
    for word in [
        "answer",
        "code",
        "listing",
        "lesson",
        "explanation",
        "explain",
        "learner",
        "student",
        "response",
        "correct",
        "correctly",
        "mention",
        "state",
        "describe",
        "name",
        "use",
        "say",
        "match",
        "predicted",
        "predict",
        "report",
    ]
)
"""Words a criterion uses to talk about the answer, not about the subject: `The code uses
Mut as the listing does` asks for `mut`. A criterion with nothing else (`The code does what
the lesson's listing does`) is judged by how much of the reference the answer covers."""


def content_tokens(text: str) -> list[Token]:
    """The text's content words, stemmed, with their character span."""
    tokens = []
    for match in WORD.finditer(text):
        word = match.group().lower().replace("\u2019", "'")
        if word in STOPWORDS or (len(word) == 1 and not word.isdigit()):
            continue
        tokens.append(Token(stem(word.removesuffix("'s")), match.start(), match.end()))
    return tokens


INSTRUCTION_ATTEMPT = re.compile(
    r"ignore\s+(?:all\s+|any\s+|the\s+)?(?:previous|prior|above|earlier|your)\s+"
    r"(?:instructions?|rules?|prompts?|directions?)"
    r"|(?:give|award|assign|grant)\s+(?:me\s+|this(?:\s+answer)?\s+|it\s+)?"
    r"(?:full|maximum|max|all\s+the|perfect|top)\s+(?:marks?|points?|score|credit|grade)"
    r"|(?:grade|mark|score|rate)\s+(?:this|me|it)(?:\s+answer)?\s+(?:as\s+)?"
    r"(?:correct|\d+\s*/\s*\d+|full|perfect)"
    r"|\b(?:system\s+prompt|you\s+are\s+now|new\s+instructions|disregard\s+(?:the|all|any))\b"
    r"|\bas\s+the\s+grader\b|\bdear\s+grader\b",
    re.IGNORECASE,
)


def instructs_grader(answer: str) -> bool:
    """Whether the answer looks like an attempt to instruct the grader."""
    return INSTRUCTION_ATTEMPT.search(answer) is not None


def label_for(fraction: float) -> Label:
    """The label of a score given as a fraction of the points."""
    if fraction >= CORRECT_AT:
        return "correct"
    if fraction >= PARTIAL_AT:
        return "partially_correct"
    return "incorrect"


@dataclass(frozen=True)
class GradingQuestion:
    """What an answer is graded against."""

    question: str
    reference: str
    criteria: tuple[str, ...] = ()
    max_points: float = 5.0


@dataclass(frozen=True)
class Review:
    """A teacher's score for one answer of the same question."""

    answer: str
    score: float


@dataclass(frozen=True)
class CriterionResult:
    criterion: str
    status: CriterionStatus
    coverage: float
    span: tuple[int, int] | None


@dataclass(frozen=True)
class OfflineVerdict:
    score: float
    fraction: float
    label: Label
    criteria: tuple[CriterionResult, ...]
    confidence: float
    instructs_grader: bool
    feedback: str


@dataclass
class _Answer:
    text: str
    tokens: list[Token]
    stems: frozenset[str]
    bigrams: frozenset[tuple[str, str]]
    vector: dict[str, float] = field(default_factory=dict)


@dataclass
class _Target:
    """A text the answer should cover (the reference, a criterion, a good reviewed answer)."""

    text: str
    weights: dict[str, float]
    bigrams: frozenset[tuple[str, str]]
    total: float


class OfflineGrader:
    """Grades answers to one question; build once per question, grade many answers."""

    def __init__(self, question: GradingQuestion, reviews: Sequence[Review] = ()) -> None:
        if question.max_points <= 0:
            raise ValueError("max_points must be positive")
        self.question = question
        self._question_stems = frozenset(t.stem for t in content_tokens(question.question))
        self._reference = self._target(question.reference)
        self._criteria = [self._criterion_target(text) for text in question.criteria]
        self._reviewed: list[tuple[_Answer, float, float]] = []
        for review in reviews:
            answer = self._answer(review.answer)
            fraction = min(max(review.score / question.max_points, 0.0), 1.0)
            self._reviewed.append((answer, fraction, self._zero_shot(answer)))
        self._offset = self._review_offset()

    def grade(self, answer: str) -> OfflineVerdict:
        """The verdict on one answer."""
        parsed = self._answer(answer)
        flagged = instructs_grader(answer)
        if not parsed.tokens:
            return self._empty_verdict(flagged)
        criteria = tuple(
            self._criterion_result(c, text, parsed) for c, text in self._iter_criteria()
        )
        zero_shot = self._zero_shot(parsed)
        fraction, agreement = self._calibrated(parsed, zero_shot)
        if self._criteria:
            # The criteria are the teacher's rubric: a missed one caps the score however much
            # of the reference the answer repeats.
            credit = {"met": 1.0, "partial": PARTIAL_CRITERION_CREDIT, "missed": 0.0}
            fraction = min(fraction, sum(credit[c.status] for c in criteria) / len(criteria))
        fraction = min(max(fraction, 0.0), 1.0)
        score = round(fraction * self.question.max_points * 2) / 2
        fraction = score / self.question.max_points
        return OfflineVerdict(
            score=score,
            fraction=fraction,
            label=label_for(fraction),
            criteria=criteria,
            confidence=self._confidence(fraction, agreement, len(parsed.tokens)),
            instructs_grader=flagged,
            feedback=_feedback(label_for(fraction), criteria),
        )

    def _iter_criteria(self) -> Iterable[tuple[_Target, str]]:
        if self._criteria:
            yield from zip(self._criteria, self.question.criteria, strict=True)
        elif self.question.reference.strip():
            yield self._reference, "Covers the reference solution"

    def _target(self, text: str, skip: frozenset[str] = frozenset()) -> _Target:
        weights: dict[str, float] = {}
        stems = [t.stem for t in content_tokens(text) if t.stem not in skip]
        for s in stems:
            weights[s] = QUESTION_WORD_WEIGHT if s in self._question_stems else 1.0
        return _Target(text, weights, frozenset(itertools.pairwise(stems)), sum(weights.values()))

    def _criterion_target(self, text: str) -> _Target:
        """What a criterion asks for: its subject words, or the reference when it has none."""
        target = self._target(text, skip=RUBRIC_WORDS)
        return target if target.total else replace(self._reference, text=text)

    def _answer(self, text: str) -> _Answer:
        tokens = content_tokens(text)
        stems = [t.stem for t in tokens]
        counts = Counter(stems)
        vector = {
            s: (QUESTION_WORD_WEIGHT if s in self._question_stems else 1.0) * (1 + math.log(n))
            for s, n in counts.items()
        }
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        return _Answer(
            text,
            tokens,
            frozenset(stems),
            frozenset(itertools.pairwise(stems)),
            {s: v / norm for s, v in vector.items()},
        )

    def _coverage(self, target: _Target, answer: _Answer) -> float:
        if target.total == 0:
            return 0.0
        found = 0.0
        for s, weight in target.weights.items():
            found += weight * _match(s, answer.stems)
        recall = found / target.total
        if not target.bigrams:
            return recall
        bigram_recall = len(target.bigrams & answer.bigrams) / len(target.bigrams)
        return 0.85 * recall + 0.15 * bigram_recall

    def _zero_shot(self, answer: _Answer) -> float:
        if not answer.tokens:
            return 0.0
        coverages = [self._coverage(self._reference, answer)] if self._reference.total else []
        if self._criteria:
            coverages.append(
                sum(self._coverage(c, answer) for c in self._criteria) / len(self._criteria)
            )
        coverage = max(coverages, default=0.0)
        return BASE_FRACTION + COVERAGE_SLOPE * coverage

    def _review_offset(self) -> float:
        if not self._reviewed:
            return 0.0
        residuals = [fraction - min(max(pred, 0.0), 1.0) for _, fraction, pred in self._reviewed]
        return sum(residuals) / (len(residuals) + REVIEW_SHRINK)

    def _calibrated(self, answer: _Answer, zero_shot: float) -> tuple[float, float]:
        """The fraction after reviews, and how far the nearest reviews agree (0 to 1)."""
        if not self._reviewed:
            return zero_shot, 0.0
        corrected = zero_shot + self._offset
        weights = []
        for reviewed, fraction, _ in self._reviewed:
            similarity = _cosine(answer.vector, reviewed.vector)
            weights.append((similarity**NEIGHBOUR_POWER, fraction, similarity))
        total = sum(w for w, _, _ in weights)
        if total <= 1e-9:
            return corrected, 0.0
        neighbour = sum(w * f for w, f, _ in weights) / total
        closeness = max(s for _, _, s in weights)
        blend = min(0.2 + 0.6 * closeness, 0.75)
        return blend * neighbour + (1 - blend) * corrected, closeness

    def _criterion_result(self, target: _Target, text: str, answer: _Answer) -> CriterionResult:
        coverage = self._coverage(target, answer)
        if coverage >= MET_AT:
            status: CriterionStatus = "met"
        elif coverage >= PARTIAL_CRITERION_AT:
            status = "partial"
        else:
            status = "missed"
        span = _evidence_span(target, answer) if status != "missed" else None
        return CriterionResult(text, status, round(coverage, 3), span)

    def _confidence(self, fraction: float, agreement: float, words: int) -> float:
        # Far from a label boundary, long enough to judge, and close to a reviewed answer.
        margin = min(abs(fraction - CORRECT_AT), abs(fraction - PARTIAL_AT))
        value = 0.45 + 0.6 * margin + 0.3 * agreement - (0.15 if words < 3 else 0.0)
        return round(min(max(value, 0.05), 0.95), 2)

    def _empty_verdict(self, flagged: bool) -> OfflineVerdict:
        criteria = tuple(
            CriterionResult(text, "missed", 0.0, None) for _, text in self._iter_criteria()
        )
        return OfflineVerdict(
            score=0.0,
            fraction=0.0,
            label="incorrect",
            criteria=criteria,
            confidence=0.95 if not flagged else 0.5,
            instructs_grader=flagged,
            feedback="The answer is empty: write what you know, even in a sentence or two.",
        )


def _match(target_stem: str, answer_stems: frozenset[str]) -> float:
    if target_stem in answer_stems:
        return 1.0
    if len(target_stem) < 5:
        return 0.0
    best = 0.0
    for candidate in answer_stems:
        if abs(len(candidate) - len(target_stem)) > 2 or candidate[0] != target_stem[0]:
            continue
        best = max(best, Levenshtein.normalized_similarity(target_stem, candidate))
    return 0.8 * best if best >= FUZZY_MIN_SIMILARITY else 0.0


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(s, 0.0) for s, v in a.items())


def _evidence_span(target: _Target, answer: _Answer) -> tuple[int, int] | None:
    """The sentence of the answer that holds the most of the target's words."""
    best: tuple[float, int, int] | None = None
    start = 0
    text = answer.text
    for piece in [*SENTENCE_END.finditer(text), None]:
        end = piece.start() if piece else len(text)
        found = sum(
            target.weights.get(t.stem, 0.0) for t in answer.tokens if start <= t.start < end
        )
        if found > 0 and (best is None or found > best[0]):
            best = (found, start, end)
        start = piece.end() if piece else len(text)
    return (best[1], best[2]) if best else None


def _feedback(label: Label, criteria: Sequence[CriterionResult]) -> str:
    missed = [c.criterion for c in criteria if c.status == "missed"]
    partial = [c.criterion for c in criteria if c.status == "partial"]
    if label == "correct" and not missed:
        return "Well done: your answer covers what the question asks."
    parts = []
    if missed:
        parts.append("Your answer does not yet address: " + "; ".join(missed) + ".")
    if partial:
        parts.append("Say more about: " + "; ".join(partial) + ".")
    if not parts:
        parts.append("Your answer is on the right track; make it more precise and complete.")
    return " ".join(parts)
