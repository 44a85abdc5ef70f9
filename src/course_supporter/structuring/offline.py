"""The offline structurer: a deterministic course outline from the materials' own structure."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from course_supporter.ingestion.document import Chunk, ChunkKind, SourceDocument
from course_supporter.ingestion.merge import MaterialDocument
from course_supporter.structuring.exercises import definition_exercise, lesson_exercises
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
from course_supporter.structuring.terms import (
    ReferenceEntry,
    Sentence,
    Term,
    TextIndex,
    clean_text,
    complete_sentence,
    find_terms,
    mentions,
    reference_entries,
    sentences,
    term_key,
)

MAX_CONCEPTS_PER_LESSON = 6
MAX_REFERENCE_CONCEPTS = 16
"""A function reference section teaches its entries: more of them make one lesson."""
MAX_REFERENCE_EXERCISES = 4
MAX_REFERENCES_PER_KIND = 3
MAX_EXAMPLES = 2
SLIDES_PER_LESSON = 6
SECONDS_PER_SEGMENT = 300
CHUNKS_PER_FLAT_LESSON = 12
PAGES_PER_LESSON = 5
SHORT_INTRO_WORDS = 250
"""A chapter's opening page up to this many words is the module's description, not a lesson."""
CHROME_SHARE = 0.6
"""Text repeated in this share of a course's materials (at least three) is the site's."""

EXAMPLE_MARKERS = ("for example", "for instance", "e.g.", "such as", "example")
CHAPTER_FILE = re.compile(r"^(?P<chapter>[A-Za-z]*\d+)[-_.](?P<section>\d+)(?=[-_.]|$)")
NAMED_FILE = re.compile(r"^(?P<chapter>[A-Za-z]+)[-_](?P<section>\d+)(?=[-_.]|$)")
FRONT_MATTER = re.compile(r"^(?:\w[\w-]*: [^:]*?\s+){1,}\w[\w-]*: ")
FRONT_MATTER_TITLE = re.compile(r"\btitle: (?P<title>.+?)(?:\s+\w[\w-]*: |$)")
TITLE_SEPARATORS = re.compile(r"\s+[-|\u2014\u2013\u00b7:]\s+")
SECTION_NUMBER = re.compile(
    r"^(?:(?:Chapter|Part)\s+\d{1,2}[.:]?\s+|Appendix\s+[A-Z][.:]?\s+"
    r"|\d{1,2}(?:\.\d{1,2})*\.?\s+|[A-Z](?:\.\d{1,2})+\.?\s+)(?=\S)"
)
LEVELS: tuple[Difficulty, Difficulty, Difficulty] = ("easy", "medium", "hard")


@dataclass
class _Section:
    """The chunks that become one lesson."""

    title: str
    chunks: list[Chunk] = field(default_factory=list)
    material: MaterialDocument | None = None
    """The file the section comes from, when a module spans several."""


@dataclass
class _Part:
    """The sections that become one module."""

    title: str
    material: MaterialDocument
    intro: list[Chunk] = field(default_factory=list)
    sections: list[_Section] = field(default_factory=list)


def _heading_title(chunk: Chunk) -> str:
    """A heading as a title: without its section number (`2.1 Syntax` → `Syntax`)."""
    text = clean_text(chunk.text)
    stripped = SECTION_NUMBER.sub("", text)
    return stripped or text


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
            sections.append(_Section(_heading_title(chunk)))
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
    title = _heading_title(tops[0]) if len(tops) == 1 else _material_title(material)
    if len(tops) == 1:
        module_level = top + 1
        deeper = {_heading_level(c) for c in headings if _heading_level(c) > module_level}
        body = [c for c in chunks if c is not tops[0]]
        if not (whole_course and deeper and _count_level(headings, module_level) > 1):
            return [_part_from_headings(material, title, body)]
    else:
        module_level, body = top, list(chunks)
        # Several top headings are chapters only when they have sections of their own.
        if not whole_course or all(_heading_level(c) == top for c in headings):
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


def _slide_sections(title: str, chunks: Sequence[Chunk]) -> list[_Section]:
    """Lessons from slides: a new lesson at a divider slide (a title alone) or every few slides.

    Slides before the first divider continue the title slide (`title`); a lesson cut after a
    few slides has no title of its own, so its first concept names it.
    """
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
            heading = next((c for c in slide_chunks if _is_heading(c)), None)
            if heading is not None or divider:
                opening = _slide_title(slide_chunks) or f"Slide {number}"
            else:
                opening = "" if sections else title
            sections.append(_Section(opening))
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
        return [_Part(title, material, [], _slide_sections(title, chunks))]
    if any(_is_heading(c) for c in chunks):
        return _parts_from_headings(material, whole_course)
    if any(c.ref.start_seconds is not None for c in chunks):
        return [_Part(title, material, [], _timeline_sections(chunks))]
    return [_Part(title, material, [], _flat_sections(title, chunks))]


def _normalized(text: str) -> str:
    return " ".join(clean_text(text).lower().split())


def _site_chrome(materials: Sequence[MaterialDocument]) -> frozenset[str]:
    """Headings and short lines most pages of a site repeat: its name, navigation, help."""
    if len(materials) < 3:
        return frozenset()
    counts: Counter[str] = Counter()
    for material in materials:
        counts.update(
            {
                _normalized(c.text)
                for c in material.document.chunks
                if c.kind is ChunkKind.HEADING or len(c.text.split()) <= 12
            }
        )
    needed = max(3, CHROME_SHARE * len(materials))
    return frozenset(text for text, count in counts.items() if count >= needed and text)


def _front_matter_title(text: str) -> str | None:
    """The `title:` of a front matter block that reached us as text, if `text` is one."""
    if not FRONT_MATTER.match(text.strip()):
        return None
    match = FRONT_MATTER_TITLE.search(text)
    return match["title"].strip().strip("\"'") if match else ""


def _site_name(titles: Sequence[str]) -> str | None:
    """The title segment most pages share (`… - The Rust Programming Language`), if any."""
    if len(titles) < 2:
        return None
    counts = Counter(
        segment
        for title in titles
        for segment in {part.strip() for part in TITLE_SEPARATORS.split(title)[1:]}
        if segment
    )
    if not counts:
        return None
    segment, count = counts.most_common(1)[0]
    return segment if count >= max(2, CHROME_SHARE * len(titles)) else None


def _strip_site_name(title: str, site: str | None) -> str:
    if not site or title.strip() == site:
        return title
    parts = [p for p in TITLE_SEPARATORS.split(title) if p.strip() and p.strip() != site]
    return " - ".join(parts) if parts else title


def _prepared(materials: Sequence[MaterialDocument]) -> list[MaterialDocument]:
    """The materials without back matter, site chrome and front matter, titled by themselves."""
    chrome = _site_chrome(materials)
    site = _site_name([m.document.title for m in materials])
    prepared: list[MaterialDocument] = []
    for material in materials:
        title = _strip_site_name(material.document.title, site)
        chunks: list[Chunk] = []
        for chunk in material.document.chunks:
            if chunk.back_matter or (chrome and _normalized(chunk.text) in chrome):
                continue
            front = _front_matter_title(chunk.text) if chunk.kind is ChunkKind.HEADING else None
            if front is not None:
                title = front or title
                continue
            chunks.append(chunk)
        if not any(c.text.strip() for c in chunks):
            continue
        document = SourceDocument(
            source_type=material.document.source_type,
            title=title,
            chunks=chunks,
            metadata=material.document.metadata,
        )
        prepared.append(replace(material, document=document))
    return prepared


def _file_chapter(label: str) -> tuple[str, int] | None:
    """The chapter a file name places the file in: `ch01-02-…` → (`ch01`, 2)."""
    name = label.rsplit("/", 1)[-1]
    match = CHAPTER_FILE.match(name) or NAMED_FILE.match(name)
    return (match["chapter"].lower(), int(match["section"])) if match else None


def _top_heading(material: MaterialDocument) -> str | None:
    headings = [c for c in material.document.chunks if _is_heading(c)]
    if not headings:
        return None
    top = min(_heading_level(c) for c in headings)
    tops = [c for c in headings if _heading_level(c) == top]
    return _normalized(tops[0].text) if len(tops) == 1 else None


def _chapters(materials: Sequence[MaterialDocument]) -> list[list[MaterialDocument]]:
    """Consecutive materials of one chapter: a shared file-name prefix or top heading."""
    keys = [_file_chapter(m.label) for m in materials]
    with_intro = {key[0] for key in keys if key is not None and key[1] == 0}
    groups: list[list[MaterialDocument]] = []
    previous: str | None = None
    for material, key in zip(materials, keys, strict=True):
        chapter: str | None = None
        numbered = CHAPTER_FILE.match(material.label.rsplit("/", 1)[-1])
        if key is not None and (numbered or key[0] in with_intro):
            chapter = f"file:{key[0]}"
        elif (heading := _top_heading(material)) is not None:
            chapter = f"heading:{heading}"
        if groups and chapter is not None and chapter == previous:
            groups[-1].append(material)
        else:
            groups.append([material])
        previous = chapter
    return groups


def _words(chunks: Sequence[Chunk]) -> int:
    return sum(len(c.text.split()) for c in chunks if c.kind is not ChunkKind.HEADING)


def _body(material: MaterialDocument) -> tuple[str, list[Chunk]]:
    """A file's own title and its chunks below that title."""
    chunks = material.document.chunks
    headings = [c for c in chunks if _is_heading(c)]
    if headings:
        top = min(_heading_level(c) for c in headings)
        tops = [c for c in headings if _heading_level(c) == top]
        if len(tops) == 1:
            return _heading_title(tops[0]), [c for c in chunks if c is not tops[0]]
    return _material_title(material), list(chunks)


def _chapter_part(group: Sequence[MaterialDocument]) -> _Part:
    """One module from a chapter's files: the opening page describes it, each file is a lesson."""
    title, intro = _body(group[0])
    sections: list[_Section] = []
    if _words(intro) > SHORT_INTRO_WORDS:
        sections.append(_Section(title, intro, group[0]))
        intro = []
    for member in group[1:]:
        member_title, chunks = _body(member)
        sections.append(_Section(member_title, chunks, member))
    return _Part(title, group[0], intro, sections)


def _course_parts(materials: Sequence[MaterialDocument]) -> list[_Part]:
    groups = _chapters(materials)
    whole_course = len(groups) == 1 and len(groups[0]) == 1
    parts: list[_Part] = []
    for group in groups:
        if len(group) > 1:
            parts.append(_chapter_part(group))
        else:
            parts += _parts_of(group[0], whole_course)
    return parts


def _summary(chunks: Sequence[Chunk], limit: int = 300) -> str:
    """The first sentences of some chunks, up to about `limit` characters."""
    text = ""
    for sentence in sentences(chunks):
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


class _ConceptBuilder:
    """Concepts with references to the chunks that define and mention them, and nowhere else."""

    def __init__(self, material: MaterialDocument) -> None:
        self.material = material
        self.is_url = material.label.startswith(("http://", "https://"))

    def build(self, term: Term, lesson_sentences: Sequence[Sentence]) -> Concept:
        concept = Concept(title=term.title, definition=term.definition)
        needle = term_key(term.title)
        self.add_references(concept, term.chunk)
        for sentence in lesson_sentences:
            if not sentence.index.mentions(needle):
                continue
            self.add_references(concept, sentence.chunk)
            lowered = sentence.text.lower()
            if len(concept.examples) < MAX_EXAMPLES and any(m in lowered for m in EXAMPLE_MARKERS):
                example = clean_text(sentence.text)
                if example != concept.definition and example not in concept.examples:
                    concept.examples.append(example)
        return concept

    def add_references(self, concept: Concept, chunk: Chunk) -> None:
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
        url = ref.url or (self.material.label if self.is_url or ref.anchor else None)
        if url and len(concept.web_references) < MAX_REFERENCES_PER_KIND:
            if ref.anchor:
                url = f"{url.split('#', 1)[0]}#{ref.anchor}"
            web = WebReference(material_id=material_id, url=url)
            if web not in concept.web_references:
                concept.web_references.append(web)


def _call_exercise(entry: ReferenceEntry, level: int) -> Exercise:
    """From a reference entry: write a call for a case of one's own and explain its arguments."""
    name = entry.term.title
    argument_names = [p.split(":", 1)[0].strip() for p in entry.parameters]
    description = (
        f"The reference gives `{entry.signature}`: “{entry.term.definition}” Write a call to "
        f"{name} for a case of your own, say what each argument holds and what you do with "
        "its result."
    )
    solution = " ".join([entry.signature, entry.term.definition, *entry.parameters])
    criteria = [f"The call passes the arguments the signature of {name} lists, in its order."]
    if argument_names:
        criteria.append(f"The answer says what {_join(argument_names)} hold.")
    if entry.returns:
        returned = entry.returns.split(":", 1)[1].strip().rstrip(" .")
        criteria.append(
            f"The answer checks the result against what the reference lists: {returned}."
        )
    return Exercise(
        description=description,
        reference_solution=solution,
        grading_criteria=criteria,
        difficulty=min(level + 1, 5),
    )


def _context(concept: Concept, prose: Sequence[str]) -> str | None:
    """A sentence of the lesson, other than the definition, that uses the term: for applying it."""
    key = term_key(concept.title)
    candidates = [
        s for s in prose if s != concept.definition and mentions(s, key) and complete_sentence(s)
    ]
    examples = [s for s in candidates if any(m in s.lower() for m in EXAMPLE_MARKERS)]
    chosen = examples or candidates
    return chosen[0] if chosen else None


@dataclass(eq=False)
class _Built:
    section: _Section
    lesson: Lesson
    keys: list[str]


class _Structurer:
    def __init__(self, materials: Sequence[MaterialDocument]) -> None:
        self.parts = _course_parts(_prepared(materials))
        self.seen_terms: set[str] = set()
        self.earlier: dict[str, Concept] = {}
        """Concepts of the lessons built so far, by key: a later section may apply one."""
        self._sentences: dict[int, list[Sentence]] = {}

    def sentences(self, chunks: Sequence[Chunk]) -> list[Sentence]:
        """The chunks' sentences, split once: a lesson rebuilt after a merge reuses them."""
        found: list[Sentence] = []
        for chunk in chunks:
            cached = self._sentences.get(id(chunk))
            if cached is None:
                cached = self._sentences[id(chunk)] = list(sentences([chunk]))
            found += cached
        return found

    def lessons(self, part: _Part, level: int) -> list[Lesson]:
        """One lesson per section; a section without concept or exercise joins its neighbour.

        It joins the lesson before it (the one after, at the start of a module): its span of
        slides or video widens that lesson's, and its sentences still feed that lesson's
        concept references.
        """
        built: list[_Built] = []
        for number, section in enumerate(part.sections, 1):
            # Terms a module's introduction defines belong to its first lesson.
            intro = part.intro if number == 1 else []
            lesson, keys = self.lesson(section, intro, part, level, number)
            built.append(_Built(section, lesson, keys))
        kept = [b for b in built if b.lesson.concepts or b.lesson.exercises]
        kept_ids = {id(b) for b in kept}
        if not kept:
            chunks = [*part.intro, *(c for s in part.sections for c in s.chunks)]
            lesson, _ = self.lesson(_Section(part.title, chunks, part.material), [], part, level, 1)
            return [lesson]
        target = kept[0]
        for item in built:
            if id(item) in kept_ids:
                target = item
                continue
            target.section.chunks = [*target.section.chunks, *item.section.chunks]
        for item in kept:
            material = item.section.material or part.material
            self._set_ranges(item.lesson, item.section, material)
            self._cite_mentions(item.lesson, item.section, material)
        return [b.lesson for b in kept]

    def _cite_mentions(self, lesson: Lesson, section: _Section, material: MaterialDocument) -> None:
        """References for mentions of a lesson's concepts in the sections merged into it."""
        builder = _ConceptBuilder(material)
        lesson_sentences = self.sentences(section.chunks)
        for concept in lesson.concepts:
            key = term_key(concept.title)
            for sentence in lesson_sentences:
                if sentence.index.mentions(key):
                    builder.add_references(concept, sentence.chunk)

    def lesson(
        self, section: _Section, intro: Sequence[Chunk], part: _Part, level: int, number: int
    ) -> tuple[Lesson, list[str]]:
        material = section.material or part.material
        builder = _ConceptBuilder(material)
        lesson_sentences = self.sentences([*intro, *section.chunks])
        # Sub-headings name the lesson's topics; its own title may name its one topic.
        headings = [_heading_title(c) for c in section.chunks if _is_heading(c)]
        headings.append(section.title)
        concepts: list[Concept] = []
        keys: list[str] = []
        # A function reference is about its entries' names, not the phrases of their prose.
        entries = reference_entries(section.chunks)
        limit = MAX_REFERENCE_CONCEPTS if entries else MAX_CONCEPTS_PER_LESSON
        terms = [e.term for e in entries] or find_terms(lesson_sentences, headings, limit * 2)
        for term in terms:
            key = term_key(term.title)
            if key in self.seen_terms or len(concepts) >= limit:
                continue
            self.seen_terms.add(key)
            keys.append(key)
            concepts.append(builder.build(term, lesson_sentences))
            self.earlier[key] = concepts[-1]
        # A section without a title of its own (a few slides, a window of a transcript without
        # topics) is named by its first concept.
        if concepts and not section.title:
            title = concepts[0].title
        else:
            title = section.title or f"{part.title}, part {number}"
        prose = [s.plain for s in lesson_sentences]
        contexts = {c.title: ctx for c in concepts if (ctx := _context(c, prose))}
        if entries:
            taught = {c.title for c in concepts}
            exercises = [_call_exercise(e, level) for e in entries if e.term.title in taught]
            exercises = exercises[:MAX_REFERENCE_EXERCISES]
        else:
            exercises = lesson_exercises(title, section.chunks, concepts, contexts, prose, level)
        if not (concepts or exercises):
            exercises = self._applying_earlier(prose, level)
        lesson = Lesson(title=title, concepts=concepts, exercises=exercises)
        self._set_ranges(lesson, section, material)
        return lesson, keys

    def _applying_earlier(self, prose: Sequence[str], level: int) -> list[Exercise]:
        """A section that teaches no new term but uses an earlier one: apply that term to it."""
        index = TextIndex(" ".join(prose))
        for key, concept in self.earlier.items():
            if not index.mentions(key):
                continue
            context = _context(concept, prose)
            if context is not None:
                return [definition_exercise(concept, context, level + 1)]
        return []

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

    def module(self, part: _Part) -> Module:
        """A module at the easiest level; `course` sets its difficulty once all are built."""
        lessons = self.lessons(part, 1)
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
            lessons=lessons,
        )

    def difficulties(self, modules: Sequence[Module]) -> list[Difficulty]:
        """Each module's difficulty from its content: the earlier terms it builds on, its density.

        Modules are ranked by (terms of earlier modules their text uses + concepts per hundred
        words + share of code) and split into thirds; position only breaks ties.
        """
        if len(modules) <= 1:
            return ["medium"] * len(modules)
        earlier: set[str] = set()
        scores: list[float] = []
        for part, module in zip(self.parts, modules, strict=True):
            chunks = [*part.intro, *(c for s in part.sections for c in s.chunks)]
            index = TextIndex(" ".join(s.plain for s in self.sentences(chunks)))
            own = {term_key(c.title) for lesson in module.lessons for c in lesson.concepts}
            prerequisites = sum(1 for key in earlier - own if index.mentions(key))
            words = max(1, len(index.lowered.split()))
            code = sum(len(c.text.split()) for c in chunks if c.kind is ChunkKind.CODE)
            scores.append(prerequisites + 100 * len(own) / words + 2 * code / (words + code))
            earlier |= own
        ranked = sorted(range(len(scores)), key=lambda n: (scores[n], n))
        levels: list[Difficulty] = ["medium"] * len(scores)
        for rank, index_ in enumerate(ranked):
            levels[index_] = LEVELS[min(2, rank * 3 // len(scores))]
        return levels

    def course(self, title: str | None) -> CourseStructure:
        modules = [self.module(part) for part in self.parts]
        for module, difficulty in zip(modules, self.difficulties(modules), strict=True):
            module.difficulty = difficulty
            extra = LEVELS.index(difficulty)
            for lesson in module.lessons:
                for exercise in lesson.exercises:
                    exercise.difficulty = min(5, exercise.difficulty + extra)
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
