"""Small samples cut to look like the real corpora, held to the real-materials targets."""

from __future__ import annotations

import uuid

from course_supporter.ingestion.document import Chunk, ChunkKind, Reference, SourceDocument
from course_supporter.ingestion.merge import MaterialDocument
from course_supporter.structuring.exercises import listing_exercises, procedure_exercise
from course_supporter.structuring.offline import structure_offline
from course_supporter.structuring.quality import assess, is_fragment, misses
from course_supporter.structuring.references import drop_missing_references
from course_supporter.structuring.schemas import CourseStructure
from course_supporter.structuring.terms import acceptable_term

SITE = "The Rust Programming Language"


def heading(text: str, level: int, **ref: object) -> Chunk:
    return Chunk(kind=ChunkKind.HEADING, text=text, ref=Reference(heading_level=level, **ref))


def para(text: str, *emphasis: str, **ref: object) -> Chunk:
    return Chunk(kind=ChunkKind.PARAGRAPH, text=text, emphasis=list(emphasis), ref=Reference(**ref))


def code(text: str, **ref: object) -> Chunk:
    return Chunk(kind=ChunkKind.CODE, text=text, ref=Reference(**ref))


def page(name: str, title: str, body: list[Chunk]) -> MaterialDocument:
    """An mdBook page as ingestion yields it, navigation and site name included."""
    chrome = [heading("Keyboard shortcuts", 2), para("Press S or / to search in the book")]
    chrome.append(heading(SITE, 1))
    document = SourceDocument(
        source_type="text", title=f"{title} - {SITE}", chunks=[*chrome, *body]
    )
    return MaterialDocument(uuid.uuid5(uuid.NAMESPACE_URL, name), "text", name, document)


def mdbook() -> list[MaterialDocument]:
    anchor = {"anchor": "hello-world"}
    return [
        page(
            "ch01-00-getting-started.html",
            "Getting Started",
            [
                heading("Getting Started", 2, anchor="getting-started"),
                para(
                    "Let us start your Rust journey! There is a lot to learn, but every journey "
                    "starts somewhere."
                ),
            ],
        ),
        page(
            "ch01-01-installation.html",
            "Installation",
            [
                heading("Installation", 2, anchor="installation"),
                para(
                    "The first step is to install Rust with rustup.",
                    "rustup",
                    anchor="installation",
                ),
                para(
                    "Rustup is a command line tool for managing Rust versions and associated "
                    "tools.",
                    anchor="installation",
                ),
                para("1. Open a terminal.", anchor="installation"),
                para("2. Run the installer script.", anchor="installation"),
                para("3. Check the version with rustc --version.", anchor="installation"),
                heading("Troubleshooting", 3, anchor="troubleshooting"),
                para(
                    "Because the default build may fail, check your linker first.",
                    "Because the default build",
                    anchor="troubleshooting",
                ),
            ],
        ),
        page(
            "ch01-02-hello-world.html",
            "Hello, World!",
            [
                heading("Hello, World!", 2, anchor="hello-world"),
                para(
                    "A macro is a way to write code that generates code; println! is one.",
                    "println!",
                    "First line",
                    **anchor,
                ),
                code('fn main() {\n    println!("Hello, world!");\n}', **anchor),
                para("Run the program and it prints the output:", **anchor),
                code("Hello, world!", **anchor),
                para(
                    "Unlike a function, a macro can take a variable number of arguments.",
                    "Everything",
                    **anchor,
                ),
            ],
        ),
        page(
            "ch02-00-guessing-game.html",
            "Programming a Guessing Game",
            [
                heading("Programming a Guessing Game", 2, anchor="guessing"),
                para("This chapter builds a small game.", anchor="guessing"),
                heading("Storing Values with Variables", 3, anchor="storing-values"),
                para(
                    "A variable is a named place that holds a value.",
                    "If there",
                    anchor="storing-values",
                ),
                code("let mut guess = String::new();", anchor="storing-values"),
                heading("Printing Values", 3, anchor="printing-values"),
                para("More about this later.", anchor="printing-values"),
            ],
        ),
    ]


def built(materials: list[MaterialDocument]) -> tuple[CourseStructure, int]:
    check = drop_missing_references(structure_offline(materials), materials)
    return check.structure, check.without_term


def test_a_documentation_site_becomes_chapters_of_sections_and_meets_the_targets() -> None:
    materials = mdbook()
    structure, without_term = built(materials)

    assert [m.title for m in structure.modules] == [
        "Getting Started",
        "Programming a Guessing Game",
    ]
    first, second = structure.modules
    # The 20-word intro page describes the chapter; it is not an empty lesson.
    assert first.description.startswith("Let us start your Rust journey!")
    assert [lesson.title for lesson in first.lessons] == ["Installation", "Hello, World!"]
    # "Printing Values" has nothing to learn from: it joins its neighbour.
    assert [lesson.title for lesson in second.lessons] == ["Storing Values with Variables"]
    titles = [c.title for m in structure.modules for lesson in m.lessons for c in lesson.concepts]
    assert "Rustup" in titles and "Macro" in titles and "Variable" in titles
    assert not {"Because the default build", "First line", "Everything", "If there"} & set(titles)
    macro = next(c for lesson in first.lessons for c in lesson.concepts if c.title == "Macro")
    assert [r.url for r in macro.web_references] == ["ch01-02-hello-world.html#hello-world"]

    outline = ["Getting Started", "Installation", "Hello, World!", "Programming a Guessing Game"]
    report = assess(structure, outline, references_without_term=without_term, boilerplate=[SITE])
    assert misses(report) == [], report
    assert report.boilerplate_titles == 0 and report.references > 0


def test_exercises_come_from_listings_procedures_contrasts_and_definitions() -> None:
    structure, _ = built(mdbook())
    installation, hello = structure.modules[0].lessons

    procedure = installation.exercises[0]
    assert procedure.description.startswith("Carry out the procedure from “Installation”")
    assert procedure.reference_solution.splitlines()[:2] == [
        "1. Open a terminal.",
        "2. Run the installer script.",
    ]
    predict = hello.exercises[0]
    assert "predict what running it shows" in predict.description
    assert 'println!("Hello, world!");' in predict.description
    assert predict.reference_solution == "Hello, world!"
    contrast = next(e for e in hello.exercises if "contrast" in e.description.lower())
    assert "Unlike a function" in contrast.description
    for module in structure.modules:
        for lesson in module.lessons:
            for exercise in lesson.exercises:
                assert exercise.reference_solution
                assert all(c.endswith(".") and c[0].isupper() for c in exercise.grading_criteria)


def test_a_manual_leaves_its_licence_and_index_out() -> None:
    chunks = [
        heading("1 Introduction", 1, page=1),
        para("An encoder is a program that turns a structure into bytes.", page=1),
        para("The encoder of this library writes DER, for example for certificates.", page=1),
        heading("2 Parsing", 1, page=2),
        heading("2.1 Syntax", 2, page=2),
        para("A definition file is a text file that lists the types of a module.", page=2),
        para("The parser reads one definition file and builds a tree from it.", page=2),
        heading("2.2 Naming", 2, page=3),
        para("A node name is the dotted path of an element.", page=3),
        para("Functions find an element by its node name, such as PKIX1.Name.", page=3),
        heading("Appendix A Copying Information", 1, page=4),
    ]
    licence = [
        "Everyone is permitted to copy and distribute verbatim copies of this license document.",
        "A Secondary Section is a named appendix or a front-matter section of the Document.",
    ]
    chunks[-1].back_matter = True
    chunks += [
        Chunk(kind=ChunkKind.PARAGRAPH, text=t, ref=Reference(page=4), back_matter=True)
        for t in licence
    ]
    document = SourceDocument(source_type="presentation", title="manual", chunks=chunks)
    materials = [MaterialDocument(uuid.uuid4(), "presentation", "manual.pdf", document)]
    structure, without_term = built(materials)

    titles = [m.title for m in structure.modules]
    assert titles == ["Introduction", "Parsing"]
    assert [lesson.title for lesson in structure.modules[1].lessons] == ["Syntax", "Naming"]
    concepts = [c for m in structure.modules for lesson in m.lessons for c in lesson.concepts]
    assert "Secondary Section" not in {c.title for c in concepts}
    assert [r.page for r in concepts[-1].page_references] == [3]
    outline = ["Introduction", "Parsing", "Syntax", "Naming"]
    report = assess(
        structure,
        outline,
        references_without_term=without_term,
        boilerplate=["Copying Information"],
    )
    assert report.outline_found == 4 and misses(report) == [], report


def test_front_matter_is_not_a_title_and_the_document_title_is() -> None:
    chunks = [
        heading("title: Scripts section: 7 description: How npm handles the scripts field", 2),
        heading("Description", 3),
        para("A lifecycle script is a script that npm runs at a fixed point of a command."),
        heading("Pre & Post Scripts", 3),
        para("A pre script is a script that runs before the script of the same name."),
    ]
    document = SourceDocument(source_type="text", title="scripts.md", chunks=chunks)
    structure, _ = built([MaterialDocument(uuid.uuid4(), "text", "scripts.md", document)])

    assert structure.modules[0].title == "Scripts"
    assert [lesson.title for lesson in structure.modules[0].lessons] == [
        "Description",
        "Pre & Post Scripts",
    ]


def test_a_lecture_concept_is_cited_at_its_cue() -> None:
    cues = [
        (0.0, "Welcome back."),
        (4.0, "A struct is a custom data type that groups related values."),
        (9.5, "Each piece of data in a struct is called a field."),
    ]
    chunks = [
        Chunk(
            kind=ChunkKind.TRANSCRIPT, text=text, ref=Reference(start_seconds=s, end_seconds=s + 4)
        )
        for s, text in cues
    ]
    document = SourceDocument(source_type="video", title="Structs", chunks=chunks)
    materials = [MaterialDocument(uuid.uuid4(), "video", "structs.vtt", document)]
    structure, without_term = built(materials)

    concepts = {c.title: c for c in structure.modules[0].lessons[0].concepts}
    assert [t.timecode for t in concepts["Struct"].timecodes] == ["00:00:04", "00:00:09"]
    assert [t.timecode for t in concepts["Field"].timecodes] == ["00:00:09"]
    assert without_term == 0


def test_fragments_are_recognised() -> None:
    for title in ("Because the default build", "First line", "Everything", "If there", "x = 1;"):
        assert is_fragment(title), title
    for title in ("Ownership", "Merge conflict", "Vec<T>", "Separation of concerns"):
        assert not is_fragment(title), title


def spoken(start: float, text: str) -> Chunk:
    return Chunk(
        kind=ChunkKind.TRANSCRIPT,
        text=text,
        ref=Reference(start_seconds=start, end_seconds=start + 5),
    )


def topic(title: str, start: float, end: float) -> Chunk:
    """A topic heading as ingestion gives a transcript: what it announces or is about."""
    ref = Reference(heading_level=1, start_seconds=start, end_seconds=end)
    return Chunk(kind=ChunkKind.HEADING, text=title, ref=ref)


def test_a_lecture_gives_a_lesson_per_topic_with_timecodes_and_concepts() -> None:
    chunks = [
        topic("Defining structs", 0, 30),
        spoken(0, "Structs are similar to tuples in that both hold related values."),
        spoken(5, "Inside curly brackets we define the pieces of data, which we call fields."),
        spoken(10, "Each of the fields has a name and a type, so the values read clearly."),
        topic("Struct update syntax", 30, 60),
        spoken(30, "You can build a new instance from an old one using struct update syntax."),
        spoken(35, "With struct update syntax the remaining values come from the old instance."),
        spoken(40, "Writing every value again would be tedious for a large instance."),
        topic("Creating different types with tuple structs", 60, 90),
        spoken(60, "Now let's look at creating different types with tuple structs."),
        spoken(65, "Rust also supports structs that look similar to tuples, called tuple structs."),
        spoken(70, "Tuple structs have a name but their fields have only types."),
    ]
    document = SourceDocument(source_type="video", title="Structs", chunks=chunks)
    materials = [MaterialDocument(uuid.uuid4(), "video", "structs-lecture.vtt", document)]
    structure, without_term = built(materials)

    assert structure.modules[0].title == "Structs"
    lessons = structure.modules[0].lessons
    assert [lesson.title for lesson in lessons] == [
        "Defining structs",
        "Struct update syntax",
        "Creating different types with tuple structs",
    ]
    assert [(lesson.video_start, lesson.video_end) for lesson in lessons] == [
        ("00:00:00", "00:00:15"),
        ("00:00:30", "00:00:45"),
        ("00:01:00", "00:01:15"),
    ]
    assert all(lesson.concepts for lesson in lessons)
    update = lessons[1].concepts[0]
    assert update.title == "Struct update syntax"
    assert [t.timecode for t in update.timecodes] == ["00:00:30", "00:00:35"]
    # The signpost is not the definition; the sentence that names the term is.
    tuple_structs = lessons[2].concepts[0]
    assert tuple_structs.title == "Tuple structs"
    assert tuple_structs.definition.startswith("Rust also supports structs")
    report = assess(structure, [], references_without_term=without_term)
    assert report.empty_lessons == 0 and report.fragment_concepts == 0


def test_a_function_manual_gives_concepts_in_most_lessons_and_no_listing_of_prose() -> None:
    chunks = [
        heading("1 Introduction", 1, page=1),
        para(
            "This library provides Abstract Syntax Notation One (ASN.1) parsing and "
            "Distinguished Encoding Rules (DER) encoding.",
            page=1,
        ),
        heading("2 Library Notes", 1, page=2),
        para("The main type used in it is asn1_node, and it stores the definitions.", page=2),
        para(
            "Some functions need a buffer of ASN1_MAX_ERROR_DESCRIPTION_SIZE bytes (e.g., as in",
            page=2,
        ),
        code("\u2018char description[ASN1_MAX_ERROR_DESCRIPTION_SIZE];\u2019).", page=2),
        para(
            "ASN1_MAX_NAME_SIZE is the maximum number of characters allowed for an identifier.",
            page=2,
        ),
        code("asn1_node definitions = NULL;", page=2),
        heading("3 Invoking asn1Parser", 1, page=3),
        para("The parser reads a file with definitions and writes a C array.", page=3),
        code(
            "Usage: asn1Parser [OPTION] FILE\n"
            "Read FILE with ASN.1 definitions and generate a C array.\n"
            "-c, --check checks the syntax only\n"
            "-o, --output=FILE output file\n"
            "-h, --help display this help and exit",
            page=3,
        ),
    ]
    document = SourceDocument(source_type="text", title="Libtasn1", chunks=chunks)
    materials = [MaterialDocument(uuid.uuid4(), "text", "libtasn1.pdf", document)]
    structure, without_term = built(materials)

    lessons = [lesson for m in structure.modules for lesson in m.lessons]
    titles = {c.title for lesson in lessons for c in lesson.concepts}
    assert {"Distinguished Encoding Rules", "ASN1_MAX_NAME_SIZE"} <= titles
    assert sum(1 for lesson in lessons if lesson.concepts) * 2 > len(lessons)
    exercises = [e.description for lesson in lessons for e in lesson.exercises]
    written = [e for e in exercises if "Write code that does what this listing" in e]
    # The real statement is a listing to write; the quoted phrase in a code font is not.
    assert len(written) == 1 and "asn1_node definitions = NULL;" in written[0]
    usage = next(e for e in exercises if e.startswith("Run `asn1Parser`"))
    assert "asn1Parser [OPTION] FILE" in usage and "--check" in usage and "--help" not in usage
    report = assess(structure, [], references_without_term=without_term)
    assert report.empty_lessons == 0 and misses(report) == [], report


def test_an_outline_entry_that_is_boilerplate_is_not_asked_for() -> None:
    structure, _ = built(mdbook())
    report = assess(structure, ["Installation", "See also"], references_without_term=0,
                    boilerplate=["See also"])  # fmt: skip
    assert (report.outline_found, report.outline_entries) == (1, 1)


def test_a_long_output_is_predicted_by_a_line_it_really_shows() -> None:
    listing = 'fn main() {\n    let x = 5;\n    x = 6;\n    println!("{x}");\n}'
    output = "\n".join(
        [f"   Compiling step {n} of a build that prints a great deal" for n in range(30)]
        + ["error: could not compile `variables` due to 1 previous error"]
    )
    chunks = [
        code(listing),
        para("When you run it, you should see this output:"),
        code(output),
    ]
    (predict,) = listing_exercises(chunks, [], level=2)
    assert predict.reference_solution.endswith("\n…")  # the output was shortened
    criterion = predict.grading_criteria[0]
    assert criterion.startswith("The predicted output matches the lesson's: ")
    quoted = criterion.removeprefix("The predicted output matches the lesson's: ").rstrip(".")
    assert quoted and quoted != "…" and quoted in predict.reference_solution


def test_the_same_command_run_after_each_listing_is_no_procedure() -> None:
    chunks = [
        para("Run the program again:"),
        code("$ cargo run\n   Compiling variables v0.1.0"),
        para("Change the listing and save it."),
        code("$ cargo run\n   Compiling variables v0.1.0"),
    ]
    only_repeats = [c for c in chunks if c.kind is ChunkKind.CODE]
    assert procedure_exercise("Variables", only_repeats, level=2) is None
    exercise = procedure_exercise("Variables", chunks, level=2)
    assert exercise is not None
    assert exercise.reference_solution.splitlines() == [
        "1. Run `cargo run`.",
        "2. Change the listing and save it.",
    ]


def test_a_command_line_is_not_a_concept() -> None:
    for command in ("cargo new variables", "cargo run", "npm install --save", "git commit"):
        assert not acceptable_term(command), command
    for term in ("Cargo", "Git branch", "match", "Vec<T>", "Make target"):
        assert acceptable_term(term), term
