"""The offline structurer: a deterministic course outline from the materials' own structure."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from course_supporter.ingestion.document import Chunk, ChunkKind
from course_supporter.ingestion.merge import MaterialDocument
from course_supporter.structuring.schemas import (
    Concept,
    CourseStructure,
    Difficulty,
    Exercise,
    Lesson,
    Module,
    PageReference,
    SlideReference,
    TimecodeReference,
    WebReference,
    format_timecode,
)

MAX_CONCEPTS_PER_LESSON = 6
MAX_EXERCISE_CONCEPTS_PER_LESSON = 3
MAX_REFERENCES_PER_KIND = 3
MAX_EXAMPLES = 2
SLIDES_PER_LESSON = 6
SECONDS_PER_SEGMENT = 300
CHUNKS_PER_FLAT_LESSON = 12
PAGES_PER_LESSON = 5

SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[\"'“(*_\[A-Z0-9])")
TERM_WORD = r"[A-Za-z][\w+#\-]*"
TERM = rf"{TERM_WORD}(?:[ \-]{TERM_WORD}){{0,3}}?"
DEFINED_AT_START = re.compile(
    rf"^(?:(?:an?|the|each|every)\s+)?(?P<term>{TERM})(?:\s*\([^)]{{1,40}}\))?"
    r"(?:,[^,]{1,60},)?\s+(?:is|are)\s+"
    r"(?:an?|the|one of the|a kind of|a type of|defined as|called)\s",
    re.IGNORECASE,
)
DEFINED_BY_VERB = re.compile(
    rf"^(?:(?:an?|the)\s+)?(?P<term>{TERM})\s+(?:refers? to|means|describes)\s", re.IGNORECASE
)
NAMED_AT_END = re.compile(
    rf"\b(?:is|are) (?:called|known as|named) (?:an?\s+|the\s+)?"
    rf"[\"'“*_]*(?P<term>{TERM})[\"'”*_]*[.,;:]",
    re.IGNORECASE,
)
BOLD = re.compile(r"\*\*(?P<a>[^*\n]{2,60}?)\*\*|__(?P<b>[^_\n]{2,60}?)__")
CAPITALISED_PHRASE = re.compile(r"(?<=[a-z,;:] )[A-Z][a-z]+(?: [A-Z][a-z]+){1,3}\b")
EXAMPLE_MARKERS = ("for example", "for instance", "e.g.", "such as", "example")
MARKUP = re.compile(r"[*_`#]+")

ANAPHORIC_WORDS = """this that it these those there here what which who he she they we you i such
another our your its their one all some most many both either neither each every none"""
GENERIC_WORDS = """result results output answer example examples problem idea goal reason difference
point solution way thing things step steps first second next last rest case cases part parts lesson
chapter section course module following above below same other only main key"""
ANAPHORIC_STARTS = frozenset(ANAPHORIC_WORDS.split())
GENERIC_TERMS = frozenset(GENERIC_WORDS.split())
LEVELS: tuple[Difficulty, Difficulty, Difficulty] = ("easy", "medium", "hard")


@dataclass
class _Sentence:
    text: str
    chunk: Chunk


@dataclass
class _Section:
    """The chunks that become one lesson."""

    title: str
    chunks: list[Chunk] = field(default_factory=list)


@dataclass
class _Part:
    """The sections that become one module."""

    title: str
    material: MaterialDocument
    intro: list[Chunk] = field(default_factory=list)
    sections: list[_Section] = field(default_factory=list)


@dataclass
class _Term:
    title: str
    definition: str
    chunk: Chunk
    rank: int


def clean_text(text: str) -> str:
    """Text without Markdown emphasis markers and with single spaces."""
    return " ".join(MARKUP.sub("", text).split())


def _heading_level(chunk: Chunk) -> int:
    return chunk.ref.heading_level or 1


def _is_heading(chunk: Chunk) -> bool:
    return chunk.kind is ChunkKind.HEADING and bool(chunk.text.strip())


def _split_at(
    chunks: Sequence[Chunk], level: int, title: str
) -> tuple[list[Chunk], list[_Section]]:
    """Chunks before the first heading of `level`, and one section per heading of that level."""
    intro: list[Chunk] = []
    sections: list[_Section] = []
    for chunk in chunks:
        if _is_heading(chunk) and _heading_level(chunk) == level:
            sections.append(_Section(clean_text(chunk.text)))
        elif sections:
            sections[-1].chunks.append(chunk)
        else:
            intro.append(chunk)
    if not sections:
        return [], [_Section(title, list(intro))]
    return intro, sections


def _part_from_headings(material: MaterialDocument, title: str, chunks: Sequence[Chunk]) -> _Part:
    """One module whose lessons are the highest-level headings inside `chunks`."""
    levels = sorted({_heading_level(c) for c in chunks if _is_heading(c)})
    if not levels:
        return _Part(title, material, [], _flat_sections(title, chunks))
    intro, sections = _split_at(chunks, levels[0], title)
    return _Part(title, material, intro, sections)


def _parts_from_headings(material: MaterialDocument, whole_course: bool) -> list[_Part]:
    """Modules from a document's headings: one per document, or one per chapter of a book."""
    chunks = material.document.chunks
    headings = [c for c in chunks if _is_heading(c)]
    top = min(_heading_level(c) for c in headings)
    tops = [c for c in headings if _heading_level(c) == top]
    title = clean_text(tops[0].text) if len(tops) == 1 else _material_title(material)
    if len(tops) == 1:
        module_level = top + 1
        deeper = {_heading_level(c) for c in headings if _heading_level(c) > module_level}
        body = [c for c in chunks if c is not tops[0]]
        if not (whole_course and deeper and _count_level(headings, module_level) > 1):
            return [_part_from_headings(material, title, body)]
    else:
        module_level, body = top, list(chunks)
        if not whole_course:
            return [_part_from_headings(material, title, body)]
    intro, chapters = _split_at(body, module_level, title)
    parts = [_part_from_headings(material, c.title, c.chunks) for c in chapters]
    parts[0].intro = intro + parts[0].intro
    return parts


def _count_level(headings: Sequence[Chunk], level: int) -> int:
    return sum(1 for c in headings if _heading_level(c) == level)


def _material_title(material: MaterialDocument) -> str:
    return clean_text(material.document.title) or material.label


def _slide_title(chunks: Sequence[Chunk]) -> str:
    for chunk in chunks:
        if _is_heading(chunk):
            return clean_text(chunk.text)
    for chunk in chunks:
        if chunk.text.strip():
            return clean_text(chunk.text.strip().splitlines()[0])[:80]
    return ""


def _slide_sections(chunks: Sequence[Chunk]) -> list[_Section]:
    """Lessons from slides: a new lesson at a divider slide (a title alone) or every few slides."""
    slides: dict[int, list[Chunk]] = {}
    for chunk in chunks:
        if chunk.ref.slide is not None:
            slides.setdefault(chunk.ref.slide, []).append(chunk)
    sections: list[_Section] = []
    for number in sorted(slides):
        slide_chunks = slides[number]
        words = sum(
            len(c.text.split()) for c in slide_chunks if c.kind is not ChunkKind.SPEAKER_NOTES
        )
        divider = words <= 8
        if (
            not sections
            or divider
            or len({c.ref.slide for c in sections[-1].chunks}) >= SLIDES_PER_LESSON
        ):
            sections.append(_Section(_slide_title(slide_chunks) or f"Slide {number}"))
        sections[-1].chunks.extend(slide_chunks)
    return sections


def _timeline_sections(chunks: Sequence[Chunk]) -> list[_Section]:
    """Lessons from a transcript: consecutive segments grouped into windows of a few minutes."""
    sections: list[_Section] = []
    window_start = 0.0
    for chunk in chunks:
        start = chunk.ref.start_seconds
        if not sections or (start is not None and start - window_start >= SECONDS_PER_SEGMENT):
            window_start = start or 0.0
            sections.append(_Section(""))
        sections[-1].chunks.append(chunk)
    return sections


def _flat_sections(title: str, chunks: Sequence[Chunk]) -> list[_Section]:
    """Lessons from a document without structure: by groups of pages, else of paragraphs."""
    sections: list[_Section] = []
    first_page: int | None = None
    for chunk in chunks:
        page = chunk.ref.page
        if not sections:
            new_group = True
        elif page is not None and first_page is not None:
            new_group = page - first_page >= PAGES_PER_LESSON
        else:
            new_group = len(sections[-1].chunks) >= CHUNKS_PER_FLAT_LESSON
        if new_group:
            first_page = page
            sections.append(_Section(""))
        sections[-1].chunks.append(chunk)
    if len(sections) == 1:
        sections[0].title = title
    return sections


def _parts_of(material: MaterialDocument, whole_course: bool) -> list[_Part]:
    chunks = material.document.chunks
    title = _material_title(material)
    if any(c.ref.slide is not None for c in chunks):
        return [_Part(title, material, [], _slide_sections(chunks))]
    if any(_is_heading(c) for c in chunks):
        return _parts_from_headings(material, whole_course)
    if any(c.ref.start_seconds is not None for c in chunks):
        return [_Part(title, material, [], _timeline_sections(chunks))]
    return [_Part(title, material, [], _flat_sections(title, chunks))]


def _sentences(chunks: Sequence[Chunk]) -> Iterator[_Sentence]:
    for chunk in chunks:
        if chunk.kind is ChunkKind.HEADING:
            continue
        # Lines of a slide are separate statements; elsewhere a line break is only wrapping.
        blocks = chunk.text.splitlines() if chunk.kind is ChunkKind.SLIDE_TEXT else [chunk.text]
        for block in blocks:
            for piece in SENTENCE_BREAK.split(block):
                text = " ".join(piece.split())
                if text:
                    yield _Sentence(text, chunk)


def term_key(term: str) -> str:
    """The form two spellings of the same term share: lower case, singular."""
    key = " ".join(clean_text(term).lower().split())
    if len(key) > 4 and key.endswith("s") and not key.endswith("ss"):
        key = key[:-1]
    return key


def _acceptable(term: str) -> bool:
    words = term.lower().split()
    return (
        bool(words)
        and words[0] not in ANAPHORIC_STARTS
        and words[-1] not in GENERIC_TERMS
        and len(term) >= 3
    )


def _display(term: str) -> str:
    term = clean_text(term).strip(" -")
    return term[:1].upper() + term[1:]


def _find_terms(sentences: Sequence[_Sentence]) -> list[_Term]:
    """Key terms of a lesson with the sentence that introduces each, best first."""
    found: dict[str, _Term] = {}

    def offer(term: str, sentence: _Sentence, rank: int) -> None:
        term = clean_text(term)
        key = term_key(term)
        if not _acceptable(term) or (key in found and found[key].rank <= rank):
            return
        definition = clean_text(sentence.text)
        found[key] = _Term(_display(term), definition, sentence.chunk, rank)

    for index, sentence in enumerate(sentences):
        plain = clean_text(sentence.text)
        match = DEFINED_AT_START.match(plain) or DEFINED_BY_VERB.match(plain)
        if match:
            offer(match["term"], sentence, 0)
        named = NAMED_AT_END.search(plain)
        if named:
            offer(named["term"], sentence, 0)
        if "**" in sentence.text or "__" in sentence.text:
            for bold in BOLD.finditer(sentence.text):
                term = bold["a"] or bold["b"]
                introducing = sentence
                if term_key(plain) == term_key(term) and index + 1 < len(sentences):
                    introducing = sentences[index + 1]
                offer(term, introducing, 1)
    if len(found) < 2:
        counts = Counter(phrase for s in sentences for phrase in CAPITALISED_PHRASE.findall(s.text))
        for phrase, count in counts.most_common():
            if count < 2:
                break
            first = next(s for s in sentences if phrase in s.text)
            offer(phrase, first, 2)
    terms = sorted(found.values(), key=lambda t: t.rank)
    return terms[:MAX_CONCEPTS_PER_LESSON]


class _ConceptBuilder:
    """Concepts with references from the chunks that define and mention them."""

    def __init__(self, material: MaterialDocument) -> None:
        self.material = material
        self.is_url = material.label.startswith(("http://", "https://"))

    def build(self, term: _Term, sentences: Sequence[_Sentence]) -> Concept:
        concept = Concept(title=term.title, definition=term.definition)
        needle = term_key(term.title)
        self._add_references(concept, term.chunk)
        for sentence in sentences:
            lowered = sentence.text.lower()
            if needle not in lowered:
                continue
            self._add_references(concept, sentence.chunk)
            if len(concept.examples) < MAX_EXAMPLES and any(m in lowered for m in EXAMPLE_MARKERS):
                example = clean_text(sentence.text)
                if example != concept.definition and example not in concept.examples:
                    concept.examples.append(example)
        return concept

    def _add_references(self, concept: Concept, chunk: Chunk) -> None:
        ref, material_id = chunk.ref, self.material.material_id
        if ref.page is not None and len(concept.page_references) < MAX_REFERENCES_PER_KIND:
            page = PageReference(material_id=material_id, page=ref.page)
            if page not in concept.page_references:
                concept.page_references.append(page)
        if ref.slide is not None and len(concept.slide_references) < MAX_REFERENCES_PER_KIND:
            slide = SlideReference(material_id=material_id, slide=ref.slide)
            if slide not in concept.slide_references:
                concept.slide_references.append(slide)
        if ref.start_seconds is not None and len(concept.timecodes) < MAX_REFERENCES_PER_KIND:
            time = TimecodeReference(
                material_id=material_id, timecode=format_timecode(ref.start_seconds)
            )
            if time not in concept.timecodes:
                concept.timecodes.append(time)
        url = ref.url or (self.material.label if self.is_url else None)
        if url and len(concept.web_references) < MAX_REFERENCES_PER_KIND:
            web = WebReference(material_id=material_id, url=url)
            if web not in concept.web_references:
                concept.web_references.append(web)


def _key_phrase(concept: Concept) -> str:
    """The part of a definition after the term, short enough for a grading criterion."""
    definition = concept.definition
    lowered = definition.lower()
    position = lowered.find(term_key(concept.title))
    tail = definition[position + len(concept.title) :] if position >= 0 else definition
    words = tail.split()[:14]
    return " ".join(words).rstrip(".,;:")


def _exercises(concepts: Sequence[Concept], level: int) -> list[Exercise]:
    """Exercises from templates: explain each concept, apply its example, relate two concepts."""
    exercises: list[Exercise] = []
    for concept in concepts[:MAX_EXERCISE_CONCEPTS_PER_LESSON]:
        exercises.append(
            Exercise(
                description=f"Explain in your own words what {concept.title} is.",
                reference_solution=concept.definition,
                grading_criteria=[
                    f"Says that {concept.title} {_key_phrase(concept)}",
                    "Uses the term precisely, without contradicting the lesson",
                ],
                difficulty=level,
            )
        )
        if concept.examples:
            exercises.append(
                Exercise(
                    description=f"Give your own example of {concept.title} and say why it fits.",
                    reference_solution=concept.examples[0],
                    grading_criteria=[
                        f"The example is an instance of {concept.title}",
                        "The explanation refers to the definition",
                    ],
                    difficulty=min(level + 1, 5),
                )
            )
    if len(concepts) >= 2:
        first, second = concepts[0], concepts[1]
        exercises.append(
            Exercise(
                description=f"How are {first.title} and {second.title} related? Compare them.",
                reference_solution=f"{first.definition} {second.definition}",
                grading_criteria=[
                    f"Defines {first.title} correctly",
                    f"Defines {second.title} correctly",
                    "States a real similarity or difference",
                ],
                difficulty=min(level + 2, 5),
            )
        )
    return exercises


def _summary(chunks: Sequence[Chunk], limit: int = 300) -> str:
    """The first sentences of some chunks, up to about `limit` characters."""
    text = ""
    for sentence in _sentences(chunks):
        candidate = f"{text} {clean_text(sentence.text)}".strip()
        if text and len(candidate) > limit:
            break
        text = candidate
        if len(text) > limit:
            break
    return text


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


class _Structurer:
    def __init__(self, materials: Sequence[MaterialDocument]) -> None:
        whole_course = len(materials) == 1
        self.parts = [part for m in materials for part in _parts_of(m, whole_course)]
        self.seen_terms: set[str] = set()

    def module(self, part: _Part, position: int) -> Module:
        difficulty = (
            LEVELS[min(2, position * 3 // len(self.parts))] if len(self.parts) > 1 else "medium"
        )
        level = {"easy": 1, "medium": 2, "hard": 3}[difficulty]
        builder = _ConceptBuilder(part.material)
        lessons = [
            self.lesson(section, part, builder, level, n)
            for n, section in enumerate(part.sections, 1)
        ]
        concepts = [c.title for lesson in lessons for c in lesson.concepts]
        goal_topics = concepts[:3] or [lesson.title for lesson in lessons[:3]]
        description = _summary(part.intro) or _summary(
            part.sections[0].chunks if part.sections else []
        )
        return Module(
            title=part.title,
            description=description,
            learning_goal=f"Understand {_join(goal_topics)}." if goal_topics else "",
            expected_knowledge=concepts[:8],
            expected_skills=[f"Explain {c}" for c in concepts[:3]]
            + ([f"Relate {concepts[0]} and {concepts[1]}"] if len(concepts) >= 2 else []),
            difficulty=difficulty,
            lessons=lessons,
        )

    def lesson(
        self, section: _Section, part: _Part, builder: _ConceptBuilder, level: int, number: int
    ) -> Lesson:
        # Terms a module's introduction defines belong to its first lesson.
        intro = part.intro if number == 1 else []
        sentences = list(_sentences([*intro, *section.chunks]))
        concepts: list[Concept] = []
        for term in _find_terms(sentences):
            key = term_key(term.title)
            if key in self.seen_terms:
                continue
            self.seen_terms.add(key)
            concepts.append(builder.build(term, sentences))
        title = section.title or (concepts[0].title if concepts else f"{part.title}, part {number}")
        lesson = Lesson(title=title, concepts=concepts, exercises=_exercises(concepts, level))
        self._set_ranges(lesson, section, part.material)
        return lesson

    @staticmethod
    def _set_ranges(lesson: Lesson, section: _Section, material: MaterialDocument) -> None:
        slides = [c.ref.slide for c in section.chunks if c.ref.slide is not None]
        if slides:
            lesson.slides_material_id = material.material_id
            lesson.slide_start, lesson.slide_end = min(slides), max(slides)
        starts = [c.ref.start_seconds for c in section.chunks if c.ref.start_seconds is not None]
        if starts:
            ends = [c.ref.end_seconds for c in section.chunks if c.ref.end_seconds is not None]
            lesson.video_material_id = material.material_id
            lesson.video_start = format_timecode(min(starts))
            lesson.video_end = format_timecode(max(ends or starts))

    def course(self, title: str | None) -> CourseStructure:
        modules = [self.module(part, n) for n, part in enumerate(self.parts)]
        module_titles = [m.title for m in modules]
        return CourseStructure(
            title=title or (module_titles[0] if len(modules) == 1 else self._course_title()),
            description=f"{len(modules)} modules: {_join(module_titles)}." if modules else "",
            learning_goal=f"Learn {_join(module_titles[:4])}." if modules else "",
            expected_knowledge=[k for m in modules for k in m.expected_knowledge[:2]],
            expected_skills=[s for m in modules for s in m.expected_skills[:1]],
            modules=modules,
        )

    def _course_title(self) -> str:
        titles = [_material_title(p.material) for p in self.parts]
        prefix = _common_prefix(titles)
        return prefix or (self.parts[0].title if self.parts else "Course")


def _common_prefix(titles: Sequence[str]) -> str:
    """The words all titles start with, e.g. the tutorial's name in `Tutorial — Chapter 1`."""
    if not titles:
        return ""
    split = [t.split() for t in titles]
    common: list[str] = []
    for words in zip(*split, strict=False):
        if any(w != words[0] for w in words):
            break
        common.append(words[0])
    return " ".join(common).strip(" -—:|,")


def structure_offline(
    materials: Sequence[MaterialDocument], *, title: str | None = None
) -> CourseStructure:
    """A course outline from the materials alone, in their order: same input, same output."""
    return _Structurer(materials).course(title)
