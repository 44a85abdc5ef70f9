"""Subtitles (WebVTT, SRT) into timed transcript chunks split into topics; a few broken cues
are skipped, overlapping ones trimmed, cues out of time order refused by number."""

from __future__ import annotations

import html
import io
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import webvtt
from webvtt.errors import MalformedCaptionError, MalformedFileError

from course_supporter.config import Settings
from course_supporter.ingestion.chunks import ChunkCollector
from course_supporter.ingestion.document import ChunkKind, Reference, SourceDocument
from course_supporter.ingestion.errors import IngestionError
from course_supporter.ingestion.formats import extension_of
from course_supporter.ingestion.progress import ParseProgress, no_progress
from course_supporter.ingestion.text import read_text_file
from course_supporter.ingestion.topics import TimedText, lecture_subject, segment_topics

# Up to this share of cues may be broken; they are skipped and counted in the metadata.
MAX_BROKEN_CUE_SHARE = 0.1
# No lecture recording runs longer; webvtt-py accepts 10-digit hours, structures hold HH:MM:SS.
MAX_CUE_SECONDS = 24 * 3600
_BLOCK_SEPARATOR = re.compile(r"\n[ \t]*\n")
# Cue markup of WebVTT and SRT; any other <…> is text someone typed (`create-<initializer>`).
_CUE_TAGS = re.compile(
    r"</?(?:c|i|b|u|v|lang|ruby|rt|font|s)(?:[.\s][^<>]*)?>|<\d{1,2}:\d{2}(?::\d{2})?\.\d{3}>",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Cue:
    start_seconds: float
    end_seconds: float
    text: str


@dataclass(frozen=True)
class ParsedSubtitles:
    cues: list[Cue]
    broken: int
    trimmed: int = 0
    """Cues that overlapped the next one and were cut to end where it starts."""


def parse_subtitles(
    text: str, subtitle_format: str, filename: str, *, max_cues: int
) -> ParsedSubtitles:
    """Parse cue by cue so one bad cue costs that cue, not the file; too many bad cues fail it."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if subtitle_format == "vtt" and not text.startswith("WEBVTT"):
        raise IngestionError(f"{filename} is not a WebVTT file (it must start with WEBVTT)")
    blocks = [block.strip("\n") for block in _BLOCK_SEPARATOR.split(text) if "-->" in block]
    if not blocks:
        raise IngestionError(f"{filename} contains no subtitle cues")
    if len(blocks) > max_cues:
        raise IngestionError(
            f"{filename} has more than {max_cues:,} subtitle cues; split the subtitles"
        )
    parsed = [_parse_cue(block, subtitle_format) for block in blocks]
    for number, cue in enumerate(parsed, start=1):
        if cue is not None and cue.end_seconds > MAX_CUE_SECONDS:
            raise IngestionError(
                f"{filename}: cue {number} ends at {_clock(cue.end_seconds)}, past the "
                f"{MAX_CUE_SECONDS // 3600} hours a recording may last; fix its timestamp"
            )
    broken = sum(1 for cue in parsed if cue is None)
    if broken > MAX_BROKEN_CUE_SHARE * len(blocks):
        raise IngestionError(
            f"{filename} has {broken} malformed cues out of {len(blocks)} "
            "(bad timestamps or layout); fix or re-export the subtitles"
        )
    numbered = [(n, cue) for n, cue in enumerate(parsed, start=1) if cue is not None and cue.text]
    cues, trimmed = _in_time_order(numbered, filename)
    return ParsedSubtitles(cues=cues, broken=broken, trimmed=trimmed)


def _in_time_order(numbered: list[tuple[int, Cue]], filename: str) -> tuple[list[Cue], int]:
    """Trim a cue that runs into the next; refuse a cue that starts before the one ahead of it."""
    cues: list[Cue] = []
    trimmed = 0
    for (_, before), (number, cue) in itertools.pairwise(numbered):
        if cue.start_seconds < before.start_seconds:
            raise IngestionError(
                f"{filename}: cue {number} starts at {_clock(cue.start_seconds)}, before cue "
                f"{number - 1} ({_clock(before.start_seconds)}); put the cues in time order"
            )
    for index, (_, cue) in enumerate(numbered):
        following = numbered[index + 1][1] if index + 1 < len(numbered) else None
        if following is not None and cue.end_seconds > following.start_seconds:
            cue = Cue(cue.start_seconds, max(cue.start_seconds, following.start_seconds), cue.text)
            trimmed += 1
        cues.append(cue)
    return cues, trimmed


def _clock(seconds: float) -> str:
    whole = int(seconds)
    millis = round(seconds % 1 * 1000)
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}.{millis:03d}"


def _parse_cue(block: str, subtitle_format: str) -> Cue | None:
    source = f"WEBVTT\n\n{block}\n" if subtitle_format == "vtt" else f"{block}\n"
    try:
        captions = webvtt.from_buffer(io.StringIO(source), format=subtitle_format).captions
    except (MalformedCaptionError, MalformedFileError, ValueError):
        return None
    if len(captions) != 1:
        return None
    caption = captions[0]
    start = caption.start_time.in_milliseconds() / 1000
    end = caption.end_time.in_milliseconds() / 1000
    if end < start:
        return None
    text = html.unescape(_CUE_TAGS.sub("", caption.raw_text))
    return Cue(start_seconds=start, end_seconds=end, text=text.strip())


def transcript_document(
    cues: list[Cue],
    *,
    title: str,
    max_chars: int,
    label: str,
    title_from_speech: bool = False,
    **metadata: str | int | float,
) -> SourceDocument:
    """A video document with one TRANSCRIPT chunk per cue, under a HEADING per topic when the
    transcript holds more than one.

    With `title_from_speech` (`title` is only a file name) the document is titled by what the
    lecture announces or is mostly about, and by `title` when nothing stands out.
    """
    collector = ChunkCollector(max_chars, label)
    timed = [TimedText(cue.start_seconds, cue.end_seconds, cue.text) for cue in cues]
    topics = segment_topics(timed)
    if title_from_speech:
        title = lecture_subject(timed) or title
    openings = {topic.first: topic for topic in topics} if len(topics) > 1 else {}
    for index, cue in enumerate(cues):
        topic = openings.get(index)
        if topic is not None:
            span = Reference(heading_level=1, start_seconds=topic.start_seconds,
                             end_seconds=topic.end_seconds)  # fmt: skip
            collector.add(ChunkKind.HEADING, topic.title, span)
        ref = Reference(start_seconds=cue.start_seconds, end_seconds=cue.end_seconds)
        collector.add(ChunkKind.TRANSCRIPT, cue.text, ref)
    return SourceDocument(
        source_type="video",
        title=title,
        chunks=collector.chunks,
        metadata={"characters": collector.total_chars, "topics": len(topics), **metadata},
    )


class SubtitleProcessor:
    """WebVTT and SRT files (parsed with webvtt-py)."""

    def __init__(self, settings: Settings) -> None:
        self.max_chars = settings.ingest_max_text_chars
        self.max_cues = settings.ingest_max_subtitle_cues

    def extract(
        self, path: Path, filename: str, progress: ParseProgress = no_progress
    ) -> SourceDocument:
        subtitle_format = extension_of(filename).lstrip(".")
        parsed = parse_subtitles(
            read_text_file(path, filename, self.max_chars),
            subtitle_format,
            filename,
            max_cues=self.max_cues,
        )
        return transcript_document(
            parsed.cues,
            title=Path(filename).stem,
            max_chars=self.max_chars,
            label=filename,
            title_from_speech=True,
            filename=filename,
            format=subtitle_format,
            skipped_cues=parsed.broken,
            trimmed_cues=parsed.trimmed,
            transcript_source="subtitles",
        )
