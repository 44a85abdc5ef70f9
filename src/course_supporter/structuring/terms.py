"""Candidate terms of a lesson, the sentences that define them, and what is not a term."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

from course_supporter.ingestion.document import Chunk, ChunkKind

SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[\"'“(*_\[`A-Z0-9])")
TERM_WORD = r"[A-Za-z][\w+#\-]*"
TERM = rf"{TERM_WORD}(?:[ \-]{TERM_WORD}){{0,3}}?"
DEFINED_AT_START = re.compile(
    rf"^(?:(?:an?|the|each|every)\s+)?(?P<term>{TERM})(?:\s*\([^)]{{1,40}}\))?"
    r"(?:,[^,]{1,60},)?\s+(?:is|are)\s+"
    r"(?:an?|the|one of the|a kind of|a type of|defined as)\s",
    re.IGNORECASE,
)
DEFINED_BY_VERB = re.compile(
    rf"^(?:(?:an?|the)\s+)?(?P<term>{TERM})\s+(?:refers? to|means|describes|represents)\s",
    re.IGNORECASE,
)
NAMED_AT_END = re.compile(
    rf"(?:\b(?:is|are) (?:called|known as|named)|, (?:called|known as)|\bwhich we call|"
    rf"\bwe call (?:this|these|them|it)) (?:an?\s+|the\s+)?"
    rf"[\"'“\u2018*_]*(?P<term>{TERM})[\"'”\u2019*_]*(?:[.,;:!]|\s+(?:because|since|when|and)\b)",
    re.IGNORECASE,
)
APPOSITIVE = re.compile(
    r"(?P<term>[A-Za-z][\w-]*(?: [A-Za-z][\w-]*)?), an? (?:[A-Za-z][a-z]+ ){0,2}"
    r"(?:feature|concept|kind|type|technique|mechanism|tool|way|method|process|structure|"
    r"value|function|rule|pattern|term|name) (?:that|which)\b"
)
"""A term glossed by an apposition: `… the use of lifetimes, a Rust feature that …`."""
NAMING_BACK = re.compile(
    r"^(?:so,? |and )?(?:we call (?:this|these|that|it|them)|(?:this|these|that) (?:is|are) "
    r"(?:called|known as)|(?:you|we) can do (?:this|that)\b)\b",
    re.IGNORECASE,
)
ACRONYM = re.compile(r"\b(?P<term>[A-Z][a-z]+(?:[ -](?:[A-Z][a-z]+|of|and|for|on|in|is|to)){1,5})"
                     r" \((?P<short>[A-Z][A-Za-z0-9.]{1,7})\b")  # fmt: skip
"""A name followed by its abbreviation: `Distinguished Encoding Rules (DER)`."""
PHRASE_WORD = re.compile(r"[A-Za-z][a-z]+(?:-[a-z]+)*")
MIN_PHRASE_REPEATS = 2
GUESSED_RANK = 3
"""Rank of candidates nothing marks: repeated capitalised phrases (3), repeated word groups (4)."""
MAX_PHRASE_TERMS = 3
VERB_CUES = frozenset(
    {"to", "can", "could", "will", "would", "must", "should", "we", "you", "they"}
)
BOLD = re.compile(r"\*\*(?P<a>[^*\n]{2,60}?)\*\*|__(?P<b>[^_\n]{2,60}?)__")
CAPITALISED_PHRASE = re.compile(r"(?<=[a-z,;:] )[A-Z][a-z]+(?: [A-Z][a-z]+){1,3}\b")
MARKUP = re.compile(r"[*`#]+|(?<!\w)_+|_+(?!\w)")
"""Emphasis markers; an underscore inside a word (`asn1_node`, `snake_case`) is the word's."""
ARTICLE = re.compile(r"^(?:an?|the)\s+")
LEADING_ARTICLE = re.compile(r"^(?:an?|the)\s+(?=\S)", re.IGNORECASE)
WORD = re.compile(r"[\w'\u2019+#-]+")
CODE_TOKEN = re.compile(r"^[A-Za-z_][\w.:!]*(?:<[\w, <>&']*>|\(\))?$")
CODE_NOISE = re.compile(r"[{};=\"$\\|]|\(\S|//|->|=>|^\W|\.\.\.")
COMMAND_LINE = re.compile(
    r"^(?:cargo|rustc|rustup|npm|npx|yarn|pnpm|git|pip3?|python3?|uv|poetry|docker|kubectl|"
    r"apt(?:-get)?|brew|curl|wget|mkdir|sudo|javac|mvn|gradle|dotnet|gcc|clang)\s+\S"
)
"""A command line as a material marks it (`cargo new variables`): what to type, not a term."""
COMPLETE_SENTENCE = re.compile(r"^[\"'“(`A-Z0-9].*[.!?][\"'”)]?$", re.DOTALL)
SIGNPOST = re.compile(
    r"^(?:(?:so|okay|ok|now|next|then|and|finally|lastly|first|alright|all right|right)[,.]?\s+)*"
    r"(?:(?:let['\u2019]s|let us|we['\u2019]ll|we will|we['\u2019]re going to|i['\u2019]ll|i will)"
    r"\s+(?:now\s+|also\s+|briefly\s+)?(?:look at|talk about|turn to|move on to|go on to|discuss|"
    r"cover|go over|get to|start with)\b|(?:moving|turning) on to\b)"
    r"|^in (?:this|today['\u2019]s) (?:lecture|talk|video|lesson|session|class)\b",
    re.IGNORECASE,
)
"""A speaker's signpost ("Next, let's look at …"): it names what comes, it says nothing of it."""

_FUNCTION_WORDS_TEXT = """
    a an the this that these those it its there here what which who whom whose he she they
    we you i me us them my our your their his her such another one all some most many much few
    both either neither each every none any no not nothing everything something anything
    if when while because since although though unless until whether so than then as also
    and or but nor yet for of to in on at by from with without into onto over under about
    after before between through during above below up down out off again further once
    is are was were be been being am do does did doing done has have had having can could
    shall should will would may might must let lets let's how why where just only very too
    first second third next last finally now later often always never usually however
    therefore thus hence instead rather even still already like unlike per via yes enough
    itself themselves"""
FUNCTION_WORDS = frozenset(_FUNCTION_WORDS_TEXT.split())
_GENERIC_WORDS_TEXT = """
    result results output answer example examples problem idea goal reason difference
    point solution way ways thing things step steps rest case cases part parts lesson lessons
    chapter chapters section sections course module following above below same other only main
    key summary introduction overview conclusion note notes details information content contents
    description descriptions usage configuration setup basics
    type types kind kinds line lines time times use uses work"""
GENERIC_WORDS = frozenset(_GENERIC_WORDS_TEXT.split())
_VERBS_OF_A_CLAUSE_TEXT = """
    is are was were be been being am does did has have had can could shall should will would
    may might must isn't aren't don't doesn't didn't won't can't"""
VERBS_OF_A_CLAUSE = frozenset(_VERBS_OF_A_CLAUSE_TEXT.split())
JOINING_WORDS = frozenset({"of", "and", "or"})
"""Function words a term may hold inside (`separation of concerns`); others make a fragment."""
MAX_TERM_WORDS = 5
MAX_TERM_CHARS = 48
MIN_DEFINITION_WORDS = 5
MAX_DEFINITION_WORDS = 60
SIGNATURE = re.compile(r"^(?:[A-Za-z_]\w*[\s*&]+){0,4}?(?P<name>[A-Za-z_]\w*)\s*\([^()]{0,400}\)")
"""An entry of a function reference opens with its signature: `int asn1_create_element (…)`."""
CODE_NAME = re.compile(r"[_\d]|[a-z][A-Z]")
LABELLED = re.compile(r"^[\w .*-]{1,30}:\s")
"""A parameter or return line of an entry (`file: …`, `Returns: …`), not its description."""
DESCRIBING = re.compile(r"^(?:(?:This|The) function\b|Function\b|[A-Z][a-z]+s\s)")
"""How a description of a function opens: `Creates …`, `Returns the …`, `This function …`."""
RETURNS = re.compile(r"^Returns?:\s", re.IGNORECASE)
DOC_MARKER = re.compile(r"\[(?:Function|Macro|Variable|Type|Method)\]")
"""What a manual's layout prints inside a signature (Texinfo's `[Function]`)."""
LOST_STOP = re.compile(
    r"(?<=[a-z)\]] )(?=(?:[A-Z][a-z]+s|Set|Get|Create|Return|Check|Search|Extract|Decode|Convert"
    r"|Print|Delete|Read|Write|Count)\s+(?:the|a|an|one|all|each)\b)"
)
SPACE_BEFORE_STOP = re.compile(r"\s+(?=[.,;:!?](?:\s|$))")
MIN_REFERENCE_ENTRIES = 2
CHUNKS_PER_REFERENCE_ENTRY = 10
"""A section is a reference when it holds at least one entry per this many text blocks."""


@dataclass
class Sentence:
    text: str
    chunk: Chunk

    @cached_property
    def plain(self) -> str:
        """The sentence without markup."""
        return clean_text(self.text)

    @cached_property
    def index(self) -> TextIndex:
        return TextIndex(self.plain)

    @cached_property
    def complete(self) -> bool:
        return complete_sentence(self.plain)

    @cached_property
    def defined_key(self) -> str | None:
        """The key of the term this sentence defines (`X is a …`), if it is a definition."""
        match = DEFINED_AT_START.match(self.plain) or DEFINED_BY_VERB.match(self.plain)
        return term_key(match["term"]) if match else None

    @cached_property
    def defined_terms(self) -> list[str]:
        """Terms this sentence defines or names (`… is called X.`), as written."""
        found = []
        match = DEFINED_AT_START.match(self.plain) or DEFINED_BY_VERB.match(self.plain)
        if match:
            found.append(match["term"])
        named = NAMED_AT_END.search(self.plain)
        if named:
            found.append(named["term"])
        found += [t for a in ACRONYM.finditer(self.plain) if (t := _abbreviated(a))]
        appositives = APPOSITIVE.finditer(self.plain) if ", a" in self.plain else ()
        for appositive in appositives:
            words = appositive["term"].split()
            while words and words[0].lower() in FUNCTION_WORDS:
                words.pop(0)
            if words:
                found.append(" ".join(words))
        return found


@dataclass
class Term:
    title: str
    definition: str
    chunk: Chunk
    rank: int
    defined: bool
    """Whether the definition is a defining sentence (`X is a …`), not just a mention."""


def _abbreviated(match: re.Match[str]) -> str | None:
    """The words before `(ABBR)` whose initials make the abbreviation (`DER`, `ASN.1`), if any."""
    words = re.split(r"([ -])", match["term"])
    letters = "".join(ch for ch in match["short"] if ch.isalpha()).upper()
    for start in range(0, len(words) - 2, 2):
        initials = "".join(w[0] for w in words[start::2] if w[:1].isupper())
        if len(initials) >= 2 and (letters == initials or letters.startswith(initials[:3])):
            return "".join(words[start:])
    return None


def clean_text(text: str) -> str:
    """Text without Markdown emphasis markers and with single spaces."""
    if any(marker in text for marker in "*_`#"):
        text = MARKUP.sub("", text)
    return " ".join(text.split())


def term_key(term: str) -> str:
    """The form two spellings of the same term share: lower case, singular."""
    key = " ".join(clean_text(term).lower().split())
    if len(key) > 4 and key.endswith("s") and not key.endswith(("ss", "us", "is")):
        key = key[:-1]
    return key


class TextIndex:
    """A text prepared for many term look-ups: lower case, without markup, its words as a set."""

    def __init__(self, text: str) -> None:
        self.lowered = clean_text(text).lower()
        self.words = frozenset(WORD.findall(self.lowered))

    def mentions(self, key: str) -> bool:
        """Whether the text contains the term whose key is `key`, as whole words."""
        if not all(w in self.words or w + "s" in self.words for w in WORD.findall(key)):
            return False
        return _mentions_lowered(self.lowered, key)


def mentions(text: str, key: str) -> bool:
    """Whether `text` (any case) contains the term whose key is `key`, as whole words."""
    return _mentions_lowered(clean_text(text).lower(), key)


def _mentions_lowered(lowered: str, key: str) -> bool:
    start = lowered.find(key)
    while start >= 0:
        before = lowered[start - 1] if start else " "
        after_index = start + len(key)
        after = lowered[after_index] if after_index < len(lowered) else " "
        if not (before.isalnum() or before == "_") and not (after.isalnum() and after != "s"):
            return True
        start = lowered.find(key, start + 1)
    return False


def is_code_term(term: str) -> bool:
    """An identifier, keyword or type name as code prints it (`u32`, `Vec<T>`, `npm_config`)."""
    return " " not in term and bool(CODE_TOKEN.match(term)) and not term.isalpha()


def acceptable_term(term: str) -> bool:
    """A term a teacher would keep: a noun phrase or an identifier, not a fragment or code noise."""
    term = term.strip()
    words = term.split()
    if not words or len(term) > MAX_TERM_CHARS or len(words) > MAX_TERM_WORDS:
        return False
    if CODE_NOISE.search(term) or term.isdigit() or COMMAND_LINE.match(term):
        return False
    lowered = [w.lower().strip(".,;:!?'\"()") for w in words]
    if lowered[0] in FUNCTION_WORDS or lowered[-1] in FUNCTION_WORDS:
        return False
    if any(w in FUNCTION_WORDS and w not in JOINING_WORDS for w in lowered[1:-1]):
        return False
    if lowered[-1] in GENERIC_WORDS and len(words) == 1:
        return False
    if any(w in VERBS_OF_A_CLAUSE for w in lowered):
        return False
    if term[-1] in ".,;:!?" or ("\u2019" in term and len(words) > 1):
        return False
    if len(words) == 1 and len(term) < 3 and not is_code_term(term):
        return False
    return any(ch.isalpha() for ch in term)


def complete_sentence(text: str) -> bool:
    """A whole sentence that says something: opens with a capital (or code), ends with a stop, not
    too short or long, not a signpost."""
    words = text.split()
    return (
        MIN_DEFINITION_WORDS <= len(words) <= MAX_DEFINITION_WORDS
        and bool(COMPLETE_SENTENCE.match(text))
        and not text.rstrip(".!?").endswith((":", ","))
        and not CODE_NOISE.search(text.split(" ", 1)[0])
        and not SIGNPOST.match(text)
    )


def display(term: str) -> str:
    term = clean_text(term).strip(" -") if not is_code_term(term) else term.strip()
    if is_code_term(term) or term[:2].isupper():
        return term
    return term[:1].upper() + term[1:]


def sentences(chunks: Sequence[Chunk]) -> Iterator[Sentence]:
    """The prose sentences of some chunks; headings and code listings are not prose."""
    for chunk in chunks:
        if chunk.kind in (ChunkKind.HEADING, ChunkKind.CODE) or chunk.back_matter:
            continue
        # Lines of a slide are separate statements; elsewhere a line break is only wrapping.
        blocks = chunk.text.splitlines() if chunk.kind is ChunkKind.SLIDE_TEXT else [chunk.text]
        for block in blocks:
            for piece in SENTENCE_BREAK.split(block):
                text = " ".join(piece.split())
                if text:
                    yield Sentence(text, chunk)


def _defining(term_key_: str, found: Sequence[Sentence]) -> Sentence | None:
    """The sentence among `found` that defines the term, else one whose subject it is, else
    the first complete sentence that names it."""
    subject: Sentence | None = None
    first: Sentence | None = None
    for sentence in found:
        if not sentence.complete or not sentence.index.mentions(term_key_):
            continue
        if sentence.defined_key == term_key_:
            return sentence
        opening = ARTICLE.sub("", sentence.index.lowered, count=1)
        if subject is None and opening.startswith(term_key_):
            subject = sentence
        first = first or sentence
    return subject or first


def find_terms(
    lesson_sentences: Sequence[Sentence], headings: Sequence[str], limit: int
) -> list[Term]:
    """Key terms of a lesson with the sentence that introduces each, best first.

    Candidates: defined-term patterns, what the material emphasises (bold, inline code,
    glossary terms), sub-headings, then repeated capitalised phrases; a candidate without
    a complete sentence that names it is not a concept.
    """
    found: dict[str, Term] = {}
    order: dict[str, int] = {}
    position = {id(s): n for n, s in enumerate(lesson_sentences)}

    def _sentence_before(sentence: Sentence) -> str:
        """What "this" is in "We call this a conditional request.": the sentence before."""
        n = position.get(id(sentence), 0)
        if not n or not NAMING_BACK.match(sentence.plain):
            return ""
        before = lesson_sentences[n - 1]
        return before.plain if before.complete else ""

    def offer(term: str, sentence: Sentence | None, rank: int, before: str = "") -> None:
        term = term.strip() if is_code_term(term.strip()) else clean_text(term)
        key = term_key(term)
        if not acceptable_term(term) or (key in found and found[key].rank <= rank):
            return
        if sentence is None or not sentence.complete or not sentence.index.mentions(key):
            sentence = _defining(key, lesson_sentences)
            if sentence is None:
                return
            before = _sentence_before(sentence)
        defined = sentence.defined_key == key or rank == 0
        definition = f"{before} {sentence.plain}".strip()
        found[key] = Term(display(term), definition, sentence.chunk, rank, defined)
        order.setdefault(key, len(order))

    emphasis_counts: Counter[str] = Counter()
    for index, sentence in enumerate(lesson_sentences):
        plain = sentence.plain
        for term in sentence.defined_terms:
            offer(term, sentence, 0, _sentence_before(sentence))
        if "**" in sentence.text or "__" in sentence.text:
            for bold in BOLD.finditer(sentence.text):
                term = bold["a"] or bold["b"]
                introducing = sentence
                if term_key(plain) == term_key(term) and index + 1 < len(lesson_sentences):
                    introducing = lesson_sentences[index + 1]
                offer(term, introducing, 1)
    for chunk in {id(s.chunk): s.chunk for s in lesson_sentences}.values():
        emphasis_counts.update(e.strip() for e in chunk.emphasis if e.strip())
    for term, _ in emphasis_counts.most_common():
        key = term_key(term)
        offer(term, _defining(key, lesson_sentences), 1 if not is_code_term(term) else 2)
    for heading in headings:
        heading = LEADING_ARTICLE.sub("", heading.strip())  # `The String Type` → `String Type`
        offer(heading, _defining(term_key(heading), lesson_sentences), 2)
    if len(found) < 2:
        counts = Counter(
            phrase for s in lesson_sentences for phrase in CAPITALISED_PHRASE.findall(s.text)
        )
        for phrase, count in counts.most_common():
            if count < 2:
                break
            offer(phrase, next(s for s in lesson_sentences if phrase in s.text), GUESSED_RANK)
    if len(found) < 2:
        for phrase in repeated_phrases(lesson_sentences):
            offer(phrase, None, 4)
    terms = sorted(found.values(), key=lambda t: (t.rank, order[term_key(t.title)]))
    # A phrase guessed from speech or capitals (nothing marks it) that has only another
    # concept's sentence to define it is a piece of that sentence, not a concept.
    kept: list[Term] = []
    for candidate in terms:
        if candidate.rank >= GUESSED_RANK and any(
            k.definition == candidate.definition for k in kept
        ):
            continue
        kept.append(candidate)
    return kept[:limit]


def repeated_phrases(lesson_sentences: Sequence[Sentence]) -> list[str]:
    """Word groups of two or three content words said at least twice, longest and most used
    first: the terms of speech, which marks none (`struct update syntax`, `dot notation`)."""
    counts: Counter[str] = Counter()
    spelling: dict[str, str] = {}
    for sentence in lesson_sentences:
        words = PHRASE_WORD.findall(sentence.plain)
        seen: set[str] = set()
        for size in (3, 2):
            for start in range(len(words) - size + 1):
                group = words[start : start + size]
                lowered = [w.lower() for w in group]
                if any(w in FUNCTION_WORDS or w in VERBS_OF_A_CLAUSE for w in lowered):
                    continue
                # `to store references`, `remaining fields`: a verb opens the group.
                if lowered[0].endswith("ing") or (start and words[start - 1].lower() in VERB_CUES):
                    continue
                if lowered[0] in GENERIC_WORDS or lowered[-1] in GENERIC_WORDS:
                    continue
                key = term_key(" ".join(group))
                if key not in seen:
                    seen.add(key)
                    counts[key] += 1
                    spelling.setdefault(key, " ".join(group))
    repeated = [k for k, n in counts.items() if n >= MIN_PHRASE_REPEATS]
    # A shorter group inside a longer repeated one is a piece of that one.
    kept = [k for k in repeated if not any(k != o and f" {k} " in f" {o} " for o in repeated)]
    kept.sort(key=lambda k: (-counts[k] * len(k.split()), k))
    return [spelling[k] for k in kept[:MAX_PHRASE_TERMS]]


@dataclass
class ReferenceEntry:
    """One entry of a function reference: its name as a term, its signature and what it returns."""

    term: Term
    signature: str
    parameters: list[str]
    returns: str | None


def reference_entries(chunks: Sequence[Chunk]) -> list[ReferenceEntry]:
    """The entries of a function or API reference section: each entry's code name
    (`asn1_create_element`) with the sentence that describes what it does.

    A section is a reference when entries (a block opening with a signature whose name is
    code: `int asn1_create_element (…)`) make up much of it; otherwise there are none.
    """
    text = [c for c in chunks if c.kind not in (ChunkKind.HEADING, ChunkKind.CODE)]
    starts: list[tuple[int, re.Match[str]]] = []
    for index, chunk in enumerate(chunks):
        if chunk.kind in (ChunkKind.HEADING, ChunkKind.CODE, ChunkKind.TRANSCRIPT):
            continue
        match = SIGNATURE.match(chunk.text.strip())
        if match and CODE_NAME.search(match["name"]):
            starts.append((index, match))
    if len(starts) < MIN_REFERENCE_ENTRIES or len(text) > CHUNKS_PER_REFERENCE_ENTRY * len(starts):
        return []
    entries: dict[str, ReferenceEntry] = {}
    for number, (index, match) in enumerate(starts):
        name = match["name"]
        end = starts[number + 1][0] if number + 1 < len(starts) else len(chunks)
        body = chunks[index + 1 : end]
        description = _description(body)
        if description is None or name in entries:
            continue
        signature = " ".join(DOC_MARKER.sub(" ", match[0]).split())
        rest = chunks[index].text.strip()[len(match[0]) :]
        lines = [clean_text(rest), *(clean_text(c.text) for c in body)]
        parameters = [line for line in lines if LABELLED.match(line) and not RETURNS.match(line)]
        returns = next((line for line in lines if RETURNS.match(line)), None)
        term = Term(name, description, chunks[index], 0, True)
        entries[name] = ReferenceEntry(term, signature, parameters, returns)
    return list(entries.values())


def _description(entry: Sequence[Chunk]) -> str | None:
    """The sentence of an entry that says what it does: one opening like a description, else
    the first whole sentence outside the parameter lines."""
    candidates: list[tuple[int, int, str]] = []
    for sentence in sentences(entry):
        text = sentence.plain
        in_parameter = bool(LABELLED.match(clean_text(sentence.chunk.text)))
        recovered = in_parameter and bool(LOST_STOP.search(text))
        if recovered:
            # A description the layout ran into the last parameter line: `… stored Counts …`.
            text = LOST_STOP.split(text, maxsplit=1)[-1]
        plain = SPACE_BEFORE_STOP.sub("", text)
        words = plain.split()
        if len(words) < 3 or not COMPLETE_SENTENCE.match(plain) or LABELLED.match(plain):
            continue
        if len(words) > MAX_DEFINITION_WORDS or "=" in plain or "->" in plain:
            continue
        rank = 0 if recovered or DESCRIBING.match(plain) else 2 if in_parameter else 1
        candidates.append((rank, len(candidates), plain))
    return min(candidates)[2] if candidates else None
