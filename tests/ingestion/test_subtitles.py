"""Subtitles: topics with start and end times, typed markup kept, cue order enforced."""

from __future__ import annotations

from pathlib import Path

import pytest

from course_supporter.config import Settings
from course_supporter.ingestion.document import ChunkKind, SourceDocument
from course_supporter.ingestion.errors import IngestionError
from course_supporter.ingestion.extract import extract_document

TOPICS = [
    [
        "Every npm package starts with a package json file in its folder.",
        "The package json file names the package and lists its version.",
        "Run npm init to write the package json file step by step.",
        "npm init asks for the package name, the version and a description.",
        "With npm init <initializer> npm runs the package create-<initializer> for you.",
        "So npm init react-app runs the create react-app package initializer.",
        "The initializer package writes the package json file and the folder layout.",
        "Pass the yes flag and npm init fills the package json with defaults.",
        "The version field in package json follows semantic versioning rules.",
        "Keep the package json file in version control with the package code.",
        "The description field helps people find the package in the registry.",
        "Check the package json file after npm init has written it.",
    ],
    [
        "Now dependencies: a dependency is another package your code imports.",
        "npm install express adds express to the dependencies list.",
        "Each install writes the exact dependency tree into package-lock json.",
        "The lockfile pins every dependency version so installs are repeatable.",
        "Dev dependencies such as test runners install with the save-dev flag.",
        "Dependencies install into the node_modules folder beside the lockfile.",
        "Never edit node_modules by hand; reinstall dependencies from the lockfile.",
        "npm ci installs dependencies exactly as the lockfile lists them.",
        "Outdated dependencies show up when you run npm outdated.",
        "Update one dependency at a time and rerun the tests after each.",
        "Remove an unused dependency with npm uninstall and the lockfile follows.",
        "Audit dependencies for known vulnerabilities with npm audit.",
    ],
    [
        "Last, scripts: the scripts field maps names to shell commands.",
        "npm run test runs the command stored under the test script name.",
        "A start script launches the server when you type npm start.",
        "Scripts see local binaries from node_modules bin on their path.",
        "Pre and post scripts run before and after a script of that name.",
        "Chain scripts with double ampersands so one failure stops the chain.",
        "Environment variables reach scripts through the process environment.",
        "Keep scripts short and move long logic into a separate script file.",
        "List every script of a project by running npm run without a name.",
        "Scripts make the build, lint and test commands the same for everyone.",
        "Continuous integration servers call the same scripts as developers.",
        "That is all for scripts, and for this lecture on npm packages.",
    ],
]  # fmt: skip


def _clock(seconds: float) -> str:
    return f"00:{int(seconds) // 60:02d}:{seconds % 60:06.3f}"


def _lecture() -> str:
    """About four minutes: 36 cues of 6 s, with a longer pause between the three topics."""
    cues, t = ["WEBVTT", ""], 1.0
    for topic in TOPICS:
        for line in topic:
            cues += [f"{_clock(t)} --> {_clock(t + 5.5)}", f"<v Teacher>{line}", ""]
            t += 6.0
        t += 3.0
    return "\n".join(cues)


async def _extract(path: Path, settings: Settings) -> SourceDocument:
    return await extract_document(
        "video", path=path, url=None, filename=path.name, settings=settings
    )


async def test_a_lecture_splits_into_timed_topics(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "npm-lecture.vtt"
    path.write_text(_lecture(), encoding="utf-8")
    document = await _extract(path, settings)
    headings = [c for c in document.chunks if c.kind is ChunkKind.HEADING]
    spans = [(h.ref.start_seconds, h.ref.end_seconds) for h in headings]
    assert spans == [(1.0, 72.5), (76.0, 147.5), (151.0, 222.5)]
    assert document.metadata.topics == 3
    # No transition is spoken: each topic is titled by what it is most about.
    assert [h.text for h in headings] == ["Package json file", "Dependencies", "Scripts"]
    # Each heading opens its topic: the cues that follow it lie inside its span.
    first_cue_after = [document.chunks[document.chunks.index(h) + 1] for h in headings]
    assert [c.ref.start_seconds for c in first_cue_after] == [1.0, 76.0, 151.0]
    text = [c.text for c in document.chunks if c.kind is ChunkKind.TRANSCRIPT]
    assert "With npm init <initializer> npm runs the package create-<initializer> for you." in text
    assert not any("<v" in t or "Teacher" in t for t in text)


def _announced_lecture(pause: float) -> str:
    """The same lecture said with an opening and spoken transitions, after `pause` seconds."""
    openings = [
        "In this lecture, we'll talk about npm packages.",
        "Next, let's look at dependencies.",
        "Finally, let's talk about npm scripts.",
    ]
    cues, t = ["WEBVTT", ""], 1.0
    for opening, topic in zip(openings, TOPICS, strict=True):
        for line in [opening, *topic[:6]]:
            cues += [f"{_clock(t)} --> {_clock(t + 5.5)}", line, ""]
            t += 6.0
        t += pause
    return "\n".join(cues)


async def test_spoken_transitions_after_a_pause_open_and_title_topics(
    tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "npm-lecture.vtt"
    path.write_text(_announced_lecture(pause=3.5), encoding="utf-8")
    document = await _extract(path, settings)
    headings = [c for c in document.chunks if c.kind is ChunkKind.HEADING]
    # Topics of 42 s, shorter than a topic found by cohesion alone may be, titled by the
    # transition; the first by the lecture's opening, which also titles the document.
    assert [h.text for h in headings] == ["Npm packages", "Dependencies", "Npm scripts"]
    assert [h.ref.start_seconds for h in headings] == [1.0, 46.5, 92.0]
    assert document.title == "Npm packages"


async def test_a_lecture_without_an_announced_subject_is_titled_by_its_dominant_term(
    tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "npm-lecture.vtt"
    path.write_text(_lecture(), encoding="utf-8")
    document = await _extract(path, settings)
    assert document.title == "Package json"


async def test_a_short_clip_stays_one_topic(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "clip.vtt"
    path.write_text("WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nHello there.\n", encoding="utf-8")
    document = await _extract(path, settings)
    assert [c.kind for c in document.chunks] == [ChunkKind.TRANSCRIPT]


async def test_overlapping_cues_are_trimmed(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "overlap.srt"
    path.write_text(
        "1\n00:00:01,000 --> 00:00:05,000\nFirst\n\n2\n00:00:04,000 --> 00:00:06,000\nSecond\n",
        encoding="utf-8",
    )
    document = await _extract(path, settings)
    assert [(c.ref.start_seconds, c.ref.end_seconds) for c in document.chunks] == [
        (1.0, 4.0), (4.0, 6.0)]  # fmt: skip
    assert document.metadata.trimmed_cues == 1


async def test_backwards_cues_are_refused_with_the_cue_number(
    tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "backwards.srt"
    path.write_text(
        "1\n00:00:01,000 --> 00:00:02,000\nOne\n\n2\n00:01:10,000 --> 00:01:12,000\nTwo\n\n"
        "3\n00:01:02,000 --> 00:01:04,000\nThree\n",
        encoding="utf-8",
    )
    with pytest.raises(IngestionError, match=r"cue 3 starts at 00:01:02.000, before cue 2"):
        await _extract(path, settings)
