"""Exercises grounded in a lesson's material: its listings, procedures, definitions, contrasts."""

from __future__ import annotations

import re
from collections.abc import Sequence

from course_supporter.ingestion.document import Chunk, ChunkKind
from course_supporter.structuring.schemas import Concept, Exercise
from course_supporter.structuring.terms import clean_text, complete_sentence, mentions, term_key

MAX_EXERCISES_PER_LESSON = 4
MAX_LISTING_CHARS = 1200
MAX_STEPS = 6
OUTPUT_CUE = re.compile(
    r"\b(?:output|prints?|printed|displays?|shows? (?:this|the following)|you(?:\u2019|')ll see|"
    r"should see|result(?:s)? in)\b",
    re.IGNORECASE,
)
STEP_NUMBER = re.compile(r"^\s*(?:step\s+)?(\d{1,2})[.)]\s+", re.IGNORECASE)
IMPERATIVE = re.compile(
    r"^(?:run|open|create|install|type|enter|add|edit|save|click|select|choose|set|start|"
    r"make|change|copy|move|delete|remove|download|navigate|go|use|call|write|build|"
    r"configure|execute|press|check|update|initialize|initialise|commit|push|switch)\b",
    re.IGNORECASE,
)
CONTRAST = re.compile(
    r"\b(?:unlike|whereas|in contrast|by contrast|differs? from|differences? between|"
    r"compared (?:to|with)|as opposed to)\b",
    re.IGNORECASE,
)
SHELL_PROMPT = re.compile(r"^\s*[$>] ", re.MULTILINE)
USAGE = re.compile(r"^\s*usage:\s*(?P<synopsis>(?P<command>[\w.-]+)[^\n]*)", re.IGNORECASE)
OPTION_LINE = re.compile(
    r"^\s*(?P<option>-{1,2}\w[\w-]*(?:[ ,=]+-{1,2}\w[\w-]*)*)[=\s]+(?P<what>\S.*)$"
)
CODE_SIGNAL = re.compile(
    r"[{};]|::=|\w\s*\(|=|^\s*(?:#include|import|def|fn|let|var|class)\b", re.M
)
BECAUSE = re.compile(r"^(?P<claim>[^,;:]{20,}?),? because (?P<reason>.{15,})$")


def _statement(text: str) -> str:
    """`text` as a grading criterion: one sentence that ends with a full stop."""
    text = " ".join(text.split()).rstrip(" .;:,")
    return f"{text[:1].upper()}{text[1:]}."


def _that_clause(sentence: str) -> str:
    """A sentence as the object of `states that …`: first letter lowered unless a name."""
    sentence = sentence.rstrip(" .")
    first = sentence.split(" ", 1)[0]
    if first.lower() in {"a", "an", "the", "each", "every", "in", "when", "if"}:
        sentence = sentence[:1].lower() + sentence[1:]
    return sentence


def _shorten(text: str, limit: int = MAX_LISTING_CHARS) -> str:
    return text if len(text) <= limit else text[:limit].rsplit("\n", 1)[0] + "\n…"


def _telling_line(output: str) -> str:
    """The line of an output a prediction must get right: its last one with text in it (not
    the ellipsis of a shortened listing)."""
    lines = [line.strip() for line in output.splitlines()]
    return next((line[:160] for line in reversed(lines) if line not in ("", "…")), "")


def _prose_before(chunks: Sequence[Chunk], index: int) -> str:
    for chunk in reversed(chunks[:index]):
        if chunk.kind is ChunkKind.CODE:
            return ""
        if chunk.kind is not ChunkKind.HEADING and chunk.text.strip():
            return clean_text(chunk.text)
    return ""


def _names_in(code: str, concepts: Sequence[Concept]) -> list[str]:
    return [c.title for c in concepts if mentions(code, term_key(c.title))][:2]


def listing_exercises(
    chunks: Sequence[Chunk], concepts: Sequence[Concept], level: int
) -> list[Exercise]:
    """From code listings: predict the output the material shows, else write the listing."""
    exercises: list[Exercise] = []
    for index, chunk in enumerate(chunks):
        if chunk.kind is not ChunkKind.CODE or not chunk.text.strip():
            continue
        if SHELL_PROMPT.match(chunk.text):
            continue  # a command and its output: a procedure or the output of the listing before
        usage = usage_exercise(chunk.text, level)
        if usage is not None:
            exercises.append(usage)
            continue
        if not is_program(chunk.text):
            continue
        code = _shorten(chunk.text.strip("\n"))
        following = chunks[index + 1 : index + 3]
        output = next(
            (
                c
                for n, c in enumerate(following)
                if c.kind is ChunkKind.CODE
                and (n == 0 or OUTPUT_CUE.search(following[0].text))
                and OUTPUT_CUE.search(_prose_before(chunks, index + 1 + n) or c.text)
            ),
            None,
        )
        names = _names_in(code, concepts)
        if output is not None:
            shown = _shorten(output.text.strip("\n"), 600)
            exercises.append(
                Exercise(
                    description="Read this listing from the lesson and predict what running it "
                    f"shows, then explain why:\n\n{code}",
                    reference_solution=shown,
                    grading_criteria=[
                        _statement(
                            f"The predicted output matches the lesson's: {_telling_line(shown)}"
                        ),
                        "The explanation points to the lines of the listing that produce it.",
                        *(
                            _statement(f"The explanation uses {name} as the lesson does")
                            for name in names[:1]
                        ),
                    ],
                    difficulty=min(level + 1, 5),
                )
            )
            continue
        purpose = _prose_before(chunks, index)
        task = f"The lesson says: “{purpose}”\n\n" if purpose and complete_sentence(purpose) else ""
        exercises.append(
            Exercise(
                description=f"{task}Write code that does what this listing from the lesson does, "
                f"then change one part of it and say what changes:\n\n{code}",
                reference_solution=code,
                grading_criteria=[
                    "The code does what the lesson's listing does.",
                    *(_statement(f"The code uses {name} as the listing does") for name in names),
                    "The answer names the part it changed and describes its effect correctly.",
                ],
                difficulty=min(level + 2, 5),
            )
        )
    return exercises


def is_program(text: str) -> bool:
    """Code a learner can write: statements or declarations, not a phrase set in a code font
    (a quoted `char buf[SIZE];` fragment, `MAX_LENGTH_SIZE .`) nor a bulleted list of names."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines or not CODE_SIGNAL.search(text):
        return False
    if sum(line.startswith(("•", "- ", "* ")) for line in lines) * 2 > len(lines):
        return False
    if len(lines) == 1:
        line = lines[0]
        quoted = line.startswith(("\u2018", "“", "'", '"'))
        return not quoted and not re.search(r"[)\u2019”'\s]\.$", line)
    return True


def usage_exercise(text: str, level: int) -> Exercise | None:
    """From a command's usage text: run the command with options it lists, and report."""
    match = USAGE.match(text)
    if match is None:
        return None
    options = [m for line in text.splitlines() if (m := OPTION_LINE.match(line))]
    command, synopsis = match["command"], " ".join(match["synopsis"].split())
    chosen = [o for o in options if not re.search(r"help|version", o["option"])][:2]
    listed = "; ".join(f"{o['option']} ({o['what'].strip()})" for o in chosen)
    task = (
        f" with {'these options' if len(chosen) > 1 else 'this option'}: {listed}" if chosen else ""
    )
    return Exercise(
        description=f"Run `{command}` as its usage line gives it (`{synopsis}`){task}. "
        "Report the command you typed and what it produced.",
        reference_solution=_shorten(text.strip("\n"), 600),
        grading_criteria=[
            _statement(f"The command follows the synopsis: {synopsis}"),
            *(_statement(f"It uses {o['option']} to {o['what'].strip()}") for o in chosen),
            "The report says what the command produced or which error it gave.",
        ],
        difficulty=min(level + 1, 5),
    )


def _steps(chunks: Sequence[Chunk]) -> list[str]:
    """The longest run of numbered or imperative steps, and shell commands, in order; a step
    said again (`cargo run` after each change of a listing) counts once, and a run needs two
    different steps to be a procedure."""
    best: list[str] = []
    run: list[str] = []
    for chunk in chunks:
        if chunk.kind is ChunkKind.HEADING:
            best, run = max(best, _distinct(run), key=len), []
            continue
        text = clean_text(chunk.text) if chunk.kind is not ChunkKind.CODE else chunk.text
        if chunk.kind is ChunkKind.CODE:
            commands = [
                line.strip()[2:].strip()
                for line in chunk.text.splitlines()
                if SHELL_PROMPT.match(line)
            ]
            if commands:
                run.extend(f"Run `{command}`." for command in commands)
            continue
        for line in chunk.text.splitlines() or [text]:
            line = clean_text(line)
            if STEP_NUMBER.match(line) or (IMPERATIVE.match(line) and complete_sentence(line)):
                run.append(STEP_NUMBER.sub("", line))
    best = max(best, _distinct(run), key=len)
    return best[:MAX_STEPS] if len(best) >= 2 else []


def _distinct(steps: list[str]) -> list[str]:
    return list(dict.fromkeys(steps))


def procedure_exercise(title: str, chunks: Sequence[Chunk], level: int) -> Exercise | None:
    """From a procedure: carry the steps out and show the result."""
    steps = _steps(chunks)
    if not steps:
        return None
    return Exercise(
        description=f"Carry out the procedure from “{title}” yourself and report what each step "
        "did. Start from: " + steps[0],
        reference_solution="\n".join(f"{n}. {step}" for n, step in enumerate(steps, 1)),
        grading_criteria=[
            *(_statement(f"Step {n} is done: {step}") for n, step in enumerate(steps[:3], 1)),
            "The steps are done in the order the lesson gives.",
            "The report says what the last step produced.",
        ],
        difficulty=min(level + 1, 5),
    )


def contrast_exercises(
    sentences: Sequence[str], concepts: Sequence[Concept], level: int
) -> list[Exercise]:
    """From comparisons the text makes: contrast the two things it sets side by side."""
    exercises: list[Exercise] = []
    for sentence in sentences:
        if not CONTRAST.search(sentence) or not complete_sentence(sentence):
            continue
        named = [c for c in concepts if mentions(sentence, term_key(c.title))]
        if len(named) >= 2:
            first, second = named[0], named[1]
            question = f"Contrast {first.title} with {second.title}: how do they differ, and when "
            question += "would you choose each?"
            criteria = [
                _statement(f"The answer defines {first.title} consistently with the lesson"),
                _statement(f"The answer defines {second.title} consistently with the lesson"),
            ]
            solution = " ".join([sentence, first.definition, second.definition])
        else:
            question = (
                f"The lesson draws a contrast: “{sentence}” Explain the difference in your own "
                "words and give a case where it matters."
            )
            criteria = []
            solution = sentence
        criteria.append(_statement(f"The answer states that {_that_clause(sentence)}"))
        criteria.append("The case given is one where the difference changes the outcome.")
        exercises.append(
            Exercise(
                description=question,
                reference_solution=solution,
                grading_criteria=criteria,
                difficulty=min(level + 2, 5),
            )
        )
        if len(exercises) >= 1:
            break
    return exercises


def cause_exercise(sentences: Sequence[str], level: int) -> Exercise | None:
    """From a claim the text gives its reason for (`X, because Y.`): say why X holds."""
    for sentence in sentences:
        match = BECAUSE.match(sentence)
        if not match or not complete_sentence(sentence):
            continue
        claim, reason = match["claim"].strip(), match["reason"].rstrip(" .!?")
        return Exercise(
            description=f"The lesson states: “{claim}.” Why is that so? Explain the reason "
            "the lesson gives.",
            reference_solution=sentence,
            grading_criteria=[
                _statement(f"The answer gives the reason: {reason}"),
                "The answer connects the reason to the claim rather than restating the claim.",
            ],
            difficulty=min(level + 1, 5),
        )
    return None


def definition_exercise(concept: Concept, context: str | None, level: int) -> Exercise:
    """From a definition: explain the term and apply it to a passage of the lesson."""
    if context:
        description = (
            f"Explain what {concept.title} means. Then apply it to this passage from the lesson: "
            f"“{context}” What does {concept.title} do there?"
        )
        solution = f"{concept.definition} {context}"
        applied = _statement(
            f"The answer shows how the passage uses {concept.title} according to the definition"
        )
    else:
        description = (
            f"Explain what {concept.title} means, as the lesson defines it, and give an example "
            "of your own that fits the definition."
        )
        solution = concept.definition
        applied = _statement(f"The example is an instance of {concept.title}")
    return Exercise(
        description=description,
        reference_solution=solution,
        grading_criteria=[
            _statement(f"The answer states that {_that_clause(concept.definition)}"),
            applied,
        ],
        difficulty=level,
    )


def lesson_exercises(
    title: str,
    chunks: Sequence[Chunk],
    concepts: Sequence[Concept],
    contexts: dict[str, str],
    prose: Sequence[str],
    level: int,
) -> list[Exercise]:
    """The lesson's exercises: listings and procedures first, then contrasts, then definitions."""
    exercises = listing_exercises(chunks, concepts, level)[:2]
    procedure = procedure_exercise(title, chunks, level)
    if procedure is not None:
        exercises.append(procedure)
    exercises += contrast_exercises(prose, concepts, level)
    cause = cause_exercise(prose, level)
    if cause is not None:
        exercises.append(cause)
    for concept in concepts:
        if len(exercises) >= MAX_EXERCISES_PER_LESSON:
            break
        exercises.append(definition_exercise(concept, contexts.get(concept.title), level))
    return exercises[:MAX_EXERCISES_PER_LESSON]
