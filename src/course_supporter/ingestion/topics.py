"""Split a timed transcript into topics: lexical cohesion in the style of TextTiling, helped by
pauses, so a lecture gives several lessons with their start and end times."""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

_WORD = re.compile(r"[^\W\d_][\w'\u2019-]*", re.UNICODE)
_STOPWORD_TEXT = (
    "a about above after again all also am an and any are as at be because been before "
    "being below between both but by can could did do does doing down during each few for "
    "from further get got had has have having he her here hers him his how i if in into "
    "is it its itself just let like me more most my no nor not now of off on once only or "
    "other our ours out over own really right same she should so some such than that the "
    "their theirs them then there these they this those through to too under until up "
    "very was we were what when where which while who whom why will with would you your "
    "yours okay ok yeah um uh so well going gonna want one two see look thing things way "
    "lot know think say said make makes made use used using go here's that's it's we're "
    "you're they're i'm let's don't can't "
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
# Each side of a gap is compared over about this many content words (TextTiling's block).
WINDOW_WORDS = 40
# Topics shorter than this are merged into a neighbour.
MIN_TOPIC_SECONDS = 45.0
MIN_TOPIC_WORDS = 60
# A pause this long counts fully towards a boundary.
_LONG_PAUSE_SECONDS = 3.0
_PAUSE_WEIGHT = 0.25


@dataclass(frozen=True)
class TimedText:
    start_seconds: float
    end_seconds: float
    text: str


@dataclass(frozen=True)
class Topic:
    """A run of cues [first, last] and the terms that set it apart."""

    first: int
    last: int
    start_seconds: float
    end_seconds: float
    title: str


def _terms(text: str) -> list[str]:
    words = (w.casefold().strip("'\u2019-") for w in _WORD.findall(text))
    return [_stem(w) for w in words if len(w) > 2 and w not in _STOPWORDS]


def _stem(word: str) -> str:
    for suffix in ("ies", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def _cosine(left: Counter[str], right: Counter[str]) -> float:
    shared = sum(left[t] * right[t] for t in left.keys() & right.keys())
    norm = math.sqrt(sum(v * v for v in left.values()) * sum(v * v for v in right.values()))
    return shared / norm if norm else 0.0


def _window(terms: Sequence[list[str]], start: int, step: int) -> Counter[str]:
    bag: Counter[str] = Counter()
    index = start
    while 0 <= index < len(terms) and sum(bag.values()) < WINDOW_WORDS:
        bag.update(terms[index])
        index += step
    return bag


def segment_topics(cues: Sequence[TimedText]) -> list[Topic]:
    """Topics of a transcript, in order; one topic when it is too short to split."""
    if not cues:
        return []
    terms = [_terms(cue.text) for cue in cues]
    total_words = sum(len(t) for t in terms)
    duration = cues[-1].end_seconds - cues[0].start_seconds
    boundaries: list[int] = []
    if len(cues) >= 4 and duration >= 2 * MIN_TOPIC_SECONDS and total_words >= 2 * MIN_TOPIC_WORDS:
        boundaries = _boundaries(cues, terms)
    starts = [0, *boundaries]
    ends = [*(b - 1 for b in boundaries), len(cues) - 1]
    spans = list(zip(starts, ends, strict=True))
    return [
        Topic(first, last, cues[first].start_seconds, cues[last].end_seconds,
              _title(terms, cues, spans, n))
        for n, (first, last) in enumerate(spans)
    ]  # fmt: skip


def _boundaries(cues: Sequence[TimedText], terms: Sequence[list[str]]) -> list[int]:
    """Cue indices that open a new topic: deep valleys of cohesion, deeper after a pause."""
    gaps = range(1, len(cues))
    cohesion = [_cosine(_window(terms, g - 1, -1), _window(terms, g, 1)) for g in gaps]
    depths: list[float] = []
    for i, score in enumerate(cohesion):
        left = max(cohesion[: i + 1])
        right = max(cohesion[i:])
        pause = max(0.0, cues[i + 1].start_seconds - cues[i].end_seconds)
        bonus = _PAUSE_WEIGHT * min(pause / _LONG_PAUSE_SECONDS, 1.0)
        depths.append((left - score) + (right - score) + bonus)
    cutoff = statistics.mean(depths) + statistics.pstdev(depths) / 2
    chosen: list[int] = []
    for i in sorted(range(len(depths)), key=lambda i: depths[i], reverse=True):
        if depths[i] <= cutoff:
            break
        candidate = i + 1
        if all(_long_enough(cues, terms, *span) for span in _spans(sorted([*chosen, candidate]),
                                                                   len(cues))):  # fmt: skip
            chosen.append(candidate)
    return sorted(chosen)


def _spans(boundaries: Sequence[int], count: int) -> list[tuple[int, int]]:
    starts = [0, *boundaries]
    return list(zip(starts, [*(b - 1 for b in boundaries), count - 1], strict=True))


def _long_enough(
    cues: Sequence[TimedText], terms: Sequence[list[str]], first: int, last: int
) -> bool:
    seconds = cues[last].end_seconds - cues[first].start_seconds
    words = sum(len(t) for t in terms[first : last + 1])
    return seconds >= MIN_TOPIC_SECONDS and words >= MIN_TOPIC_WORDS


def _title(
    terms: Sequence[list[str]],
    cues: Sequence[TimedText],
    spans: Sequence[tuple[int, int]],
    n: int,
) -> str:
    """The topic's most distinctive terms (frequent here, rare in the other topics)."""
    counts = [Counter(t for ts in terms[a : b + 1] for t in ts) for a, b in spans]
    here = counts[n]
    elsewhere = Counter[str]()
    for k, other in enumerate(counts):
        if k != n:
            elsewhere.update(other.keys())
    scored = sorted(
        here, key=lambda t: (-(here[t] * math.log((len(spans) + 1) / (1 + elsewhere[t]))), t)
    )
    surface = _surface_forms(cues[spans[n][0] : spans[n][1] + 1])
    picked = [surface.get(t, t) for t in scored[:3]]
    if not picked:
        return f"Part {n + 1}"
    words = [picked[0][:1].upper() + picked[0][1:], *picked[1:]]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _surface_forms(cues: Sequence[TimedText]) -> dict[str, str]:
    """The spelling a stem most often has in the cues (keeps "ATP", "Krebs")."""
    forms: dict[str, Counter[str]] = {}
    for cue in cues:
        for word in _WORD.findall(cue.text):
            stem = _stem(word.casefold().strip("'\u2019-"))
            forms.setdefault(stem, Counter())[word.strip("'\u2019-")] += 1
    return {stem: counter.most_common(1)[0][0] for stem, counter in forms.items()}
