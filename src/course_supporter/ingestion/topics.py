"""Split a timed transcript into topics: lexical cohesion in the style of TextTiling, helped by
pauses and the speaker's transitions ("Next, let's look at …"), so a lecture gives several
lessons with their start and end times, each titled by what it announces or is about."""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
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
    "you're they're i'm let's don't can't we'll i'll you'll they'll it'll there's what's "
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
# A transition the speaker says ("Now let's look at …") weighs this much towards a boundary;
# after a long pause it is one, and the topic it opens may be this short.
_ANNOUNCED_WEIGHT = 0.5
_TRANSITION_PAUSE_SECONDS = 2.5
MIN_ANNOUNCED_TOPIC_SECONDS = 20.0
MIN_ANNOUNCED_TOPIC_WORDS = 25
_SUBDIVIDING_FACTOR = 2.0
MAX_TITLE_WORDS = 10
MIN_SUBJECT_REPEATS = 3
_LEAD_IN = (
    r"^(?:(?:so|okay|ok|alright|all right|right|well|now|next|then|and|finally|lastly|"
    r"first|firstly|to start|to begin|to finish)[,.]?\s+)*"
)
_SPEAKER = (
    r"(?:let's|let us|we'll|we will|we're going to|we are going to|i'll|i will|i'm going to|"
    r"i want to|i'd like to)\s+(?:now\s+|also\s+|briefly\s+|quickly\s+)?"
)
_TOPIC = r"\s+(?P<topic>[^.!?;:]+)"
_ANNOUNCEMENT = re.compile(
    _LEAD_IN
    + rf"(?:{_SPEAKER}(?:look at|talk about|turn to|move on to|go on to|discuss|cover|get to|"
    r"dig into|go over|learn about|explore|focus on|come to)|let's move on to|(?:moving|turning) "
    r"on to|the (?:next|last|final) (?:topic|subject|part|section) is)" + _TOPIC,
    re.IGNORECASE,
)
_LECTURE_OPENING = re.compile(
    r"^(?:(?:hi|hello|welcome)\b[^.!?]*[.!?]\s*)?(?:so,?\s+)?in (?:this|today's) "
    r"(?:lecture|talk|video|lesson|session|class),?\s+"
    rf"{_SPEAKER}(?:talk about|look at|learn about|learn|cover|discuss|explore|go over|study)"
    + _TOPIC,
    re.IGNORECASE,
)
_TOPIC_TAIL = re.compile(r",.*$|\s+(?:now|next|today|first|briefly|in (?:more )?detail)$", re.I)


@dataclass(frozen=True)
class TimedText:
    start_seconds: float
    end_seconds: float
    text: str


@dataclass(frozen=True)
class Topic:
    """A run of cues [first, last] and its title."""

    first: int
    last: int
    start_seconds: float
    end_seconds: float
    title: str


def _terms(text: str) -> list[str]:
    words = (w.casefold().replace("\u2019", "'").strip("'-") for w in _WORD.findall(text))
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


def announced_topic(text: str) -> str | None:
    """The topic a transition names ("Next, let's look at tuple structs." → `Tuple structs`)."""
    return _topic_title(_ANNOUNCEMENT.match(_plain_quotes(text)))


def lecture_subject(cues: Sequence[TimedText]) -> str | None:
    """What the lecture is about: what its opening announces ("In this lecture we'll talk
    about …"), else its dominant phrase or term; None when nothing stands out."""
    subject = _opening_subject(cues)
    if subject:
        return subject
    terms = [_terms(cue.text) for cue in cues]
    phrases = _phrases(cues)
    surface = _surface_forms(cues)
    counts = Counter(t for ts in terms for t in ts)
    if phrases and phrases.most_common(1)[0][1] >= MIN_SUBJECT_REPEATS:
        return _capitalised(phrases.most_common(1)[0][0])
    if counts and counts.most_common(1)[0][1] >= MIN_SUBJECT_REPEATS:
        stem = counts.most_common(1)[0][0]
        return _capitalised(surface.get(stem, stem))
    return None


def _opening_subject(cues: Sequence[TimedText]) -> str | None:
    for cue in cues[:3]:
        subject = _topic_title(_LECTURE_OPENING.match(_plain_quotes(cue.text)))
        if subject:
            return subject
    return None


def _plain_quotes(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").replace("\u2018", "'").split())


def _topic_title(match: re.Match[str] | None) -> str | None:
    if match is None:
        return None
    topic = _TOPIC_TAIL.sub("", match["topic"].strip()).strip()
    words = topic.split()
    if not words or len(words) > MAX_TITLE_WORDS or not _terms(topic):
        return None
    return _capitalised(topic)


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _announcement(cues: Sequence[TimedText], first: int) -> str | None:
    """The topic announced by the cue that opens at `first` or the one after it."""
    for cue in cues[first : first + 2]:
        topic = announced_topic(cue.text)
        if topic:
            return topic
    return None


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
    spans = _spans(boundaries, len(cues))
    phrases = [_phrases(cues[a : b + 1]) for a, b in spans]
    counts = [Counter(t for ts in terms[a : b + 1] for t in ts) for a, b in spans]
    return [
        Topic(first, last, cues[first].start_seconds, cues[last].end_seconds,
              _title(cues[first : last + 1], phrases, counts, n))
        for n, (first, last) in enumerate(spans)
    ]  # fmt: skip


def _pause_before(cues: Sequence[TimedText], index: int) -> float:
    return max(0.0, cues[index].start_seconds - cues[index - 1].end_seconds)


def _boundaries(cues: Sequence[TimedText], terms: Sequence[list[str]]) -> list[int]:
    """Cue indices that open a new topic: deep valleys of cohesion, deeper after a pause or at a
    spoken transition; a transition after a long pause is a boundary whatever the cohesion."""
    gaps = range(1, len(cues))
    cohesion = [_cosine(_window(terms, g - 1, -1), _window(terms, g, 1)) for g in gaps]
    announced = {g for g in gaps if announced_topic(cues[g].text)}
    # The lecture's opening announces its first topic.
    opened = {0} if _opening_subject(cues) else set()
    depths: list[float] = []
    for i, score in enumerate(cohesion):
        left = max(cohesion[: i + 1])
        right = max(cohesion[i:])
        pause = _pause_before(cues, i + 1)
        bonus = _PAUSE_WEIGHT * min(pause / _LONG_PAUSE_SECONDS, 1.0)
        bonus += _ANNOUNCED_WEIGHT if i + 1 in announced else 0.0
        depths.append((left - score) + (right - score) + bonus)
    cutoff = statistics.mean(depths) + statistics.pstdev(depths) / 2
    forced = {g for g in announced if _pause_before(cues, g) >= _TRANSITION_PAUSE_SECONDS}
    # A speaker who announces topics gives the outline; a valley of cohesion only subdivides a
    # long stretch of it.
    factor = _SUBDIVIDING_FACTOR if len(forced) >= 2 else 1.0
    chosen: list[int] = []
    for i in sorted(range(len(depths)), key=lambda i: (i + 1 not in forced, -depths[i])):
        candidate = i + 1
        if depths[i] <= cutoff and candidate not in forced:
            break
        spans = _spans(sorted([*chosen, candidate]), len(cues))
        if not all(_long_enough(cues, terms, a, b, a in announced | opened) for a, b in spans):
            continue
        if candidate not in forced and factor > 1:
            beside = [(a, b) for a, b in spans if candidate in (a, b + 1)]
            if not all(_long_enough(cues, terms, a, b, factor=factor) for a, b in beside):
                continue
        chosen.append(candidate)
    return sorted(chosen)


def _spans(boundaries: Sequence[int], count: int) -> list[tuple[int, int]]:
    starts = [0, *boundaries]
    return list(zip(starts, [*(b - 1 for b in boundaries), count - 1], strict=True))


def _long_enough(
    cues: Sequence[TimedText],
    terms: Sequence[list[str]],
    first: int,
    last: int,
    announced: bool = False,
    factor: float = 1.0,
) -> bool:
    seconds = cues[last].end_seconds - cues[first].start_seconds
    words = sum(len(t) for t in terms[first : last + 1])
    if announced:
        return seconds >= MIN_ANNOUNCED_TOPIC_SECONDS and words >= MIN_ANNOUNCED_TOPIC_WORDS
    return seconds >= factor * MIN_TOPIC_SECONDS and words >= factor * MIN_TOPIC_WORDS


def _title(
    cues: Sequence[TimedText],
    phrases: Sequence[Counter[str]],
    counts: Sequence[Counter[str]],
    n: int,
) -> str:
    """What topic `n` (its `cues`) announces (the first, what the lecture's opening does), else
    its most distinctive phrase, else its most distinctive term (frequent here, rare in the
    other topics)."""
    announced = _announcement(cues, 0) or (_opening_subject(cues) if n == 0 else None)
    if announced:
        return announced
    phrase_rarity, term_rarity = _rarity(phrases, n), _rarity(counts, n)
    scored = [
        (phrases[n][p] * len(p.split()) * phrase_rarity(p), p)
        for p in phrases[n]
        if phrases[n][p] >= 2
    ]
    surface = _surface_forms(cues)
    scored += [(counts[n][t] * term_rarity(t), surface.get(t, t)) for t in counts[n]]
    if scored:
        return _capitalised(max(scored, key=lambda item: (item[0], item[1]))[1])
    return _capitalised(" ".join(cues[0].text.split()[:MAX_TITLE_WORDS]).rstrip(".,;:!?"))


def _rarity(counts: Sequence[Counter[str]], n: int) -> Callable[[str], float]:
    """How rare a key is outside topic `n`, as an inverse document frequency."""

    def rarity(key: str) -> float:
        elsewhere = sum(1 for k, other in enumerate(counts) if k != n and key in other)
        return math.log((len(counts) + 1) / (1 + elsewhere)) + 0.1

    return rarity


def _phrases(cues: Sequence[TimedText]) -> Counter[str]:
    """Runs of two or three content words, counted once per cue, as spoken (`tuple structs`)."""
    counts: Counter[str] = Counter()
    for cue in cues:
        seen: set[str] = set()
        for run in _content_runs(cue.text):
            for size in (3, 2):
                for start in range(len(run) - size + 1):
                    seen.add(" ".join(run[start : start + size]))
        counts.update(seen)
    # A pair inside a triple said as often is a piece of it (`struct update` of `… syntax`).
    within: dict[str, int] = {}
    for phrase, count in counts.items():
        words = phrase.split()
        if len(words) == 3:
            for pair in (" ".join(words[:2]), " ".join(words[1:])):
                within[pair] = max(within.get(pair, 0), count)
    return Counter({p: c for p, c in counts.items() if within.get(p, 0) < c})


def _content_runs(text: str) -> list[list[str]]:
    """The text's runs of consecutive content words, as written, lower-cased unless acronyms."""
    runs: list[list[str]] = [[]]
    for token in re.split(r"(\s+|[,.;:!?()\"“”])", text):
        word = token.strip("'\u2019-")
        if not word.strip():
            continue
        spoken = word.casefold().replace("\u2019", "'")  # a typographic apostrophe is an apostrophe
        if not _WORD.fullmatch(word) or len(word) <= 2 or spoken in _STOPWORDS:
            runs.append([])
            continue
        runs[-1].append(word if word.isupper() else word.lower())
    return [run for run in runs if len(run) >= 2]


def _surface_forms(cues: Sequence[TimedText]) -> dict[str, str]:
    """The spelling a stem most often has in the cues (keeps "ATP", "Krebs")."""
    forms: dict[str, Counter[str]] = {}
    for cue in cues:
        for word in _WORD.findall(cue.text):
            stem = _stem(word.casefold().strip("'\u2019-"))
            forms.setdefault(stem, Counter())[word.strip("'\u2019-")] += 1
    return {stem: counter.most_common(1)[0][0] for stem, counter in forms.items()}
