"""Offline structuring of a generated 100,000-word course of 20 chapters: time on one core, memory.

Run: .venv/bin/python benchmarks/structure.py [--words 100000] [--chapters 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import time
import tracemalloc
import uuid

from course_supporter.ingestion.document import Chunk, ChunkKind, Reference, SourceDocument
from course_supporter.ingestion.merge import MaterialDocument
from course_supporter.structuring.offline import structure_offline

TARGET_SECONDS = 5.0
SECTIONS_PER_CHAPTER = 8
VOCABULARY = (
    "data system value process model network request memory store update change result user "
    "service record table query index cache event message stream file page server client state "
    "function method object class module package release version branch commit test build deploy "
    "quickly often rarely carefully always the a an of to in for with on by from and or but"
)
WORDS = VOCABULARY.split()
TERMS = [
    f"{a} {b}"
    for a in ("binary", "linked", "hash", "event", "shared", "lazy")
    for b in ("tree", "list", "table", "loop", "buffer", "queue", "lock", "cursor")
]


def sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(10, 22))
    if rng.random() < 0.1:
        words.insert(rng.randint(1, len(words) - 1), "Runtime Engine")
    return " ".join(words).capitalize() + "."


def chapter(rng: random.Random, number: int, words: int) -> SourceDocument:
    """A chapter as a processed Markdown file: a title, sections, paragraphs with definitions."""
    chunks = [
        Chunk(kind=ChunkKind.HEADING, text=f"Chapter {number}", ref=Reference(heading_level=1))
    ]
    per_section = words // SECTIONS_PER_CHAPTER
    for section in range(SECTIONS_PER_CHAPTER):
        chunks.append(
            Chunk(
                kind=ChunkKind.HEADING,
                text=f"Section {number}.{section + 1}",
                ref=Reference(heading_level=2),
            )
        )
        written = 0
        while written < per_section:
            sentences = [sentence(rng) for _ in range(rng.randint(3, 7))]
            if rng.random() < 0.3:
                term = rng.choice(TERMS)
                sentences.insert(0, f"A {term} is a structure that {sentence(rng).lower()}")
            text = " ".join(sentences)
            chunks.append(
                Chunk(kind=ChunkKind.PARAGRAPH, text=text, ref=Reference(page=len(chunks)))
            )
            written += len(text.split())
    return SourceDocument(source_type="text", title=f"Chapter {number}", chunks=chunks)


def course(total_words: int, chapters: int, seed: int = 7) -> list[MaterialDocument]:
    rng = random.Random(seed)
    return [
        MaterialDocument(
            uuid.UUID(int=n),
            "text",
            f"chapter-{n:02d}.md",
            chapter(rng, n, total_words // chapters),
        )
        for n in range(1, chapters + 1)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--words", type=int, default=100_000)
    parser.add_argument("--chapters", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    materials = course(args.words, args.chapters)
    words = sum(len(c.text.split()) for m in materials for c in m.document.chunks)

    timings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        structure = structure_offline(materials)
        timings.append(time.perf_counter() - started)
    tracemalloc.start()
    structure_offline(materials)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    lessons = sum(len(m.lessons) for m in structure.modules)
    concepts = sum(len(lesson.concepts) for m in structure.modules for lesson in m.lessons)
    best = min(timings)
    print(f"course: {words:,} words, {args.chapters} chapters, one core")
    print(f"structure: {len(structure.modules)} modules, {lessons} lessons, {concepts} concepts")
    print(f"time: best {best:.3f} s, runs {', '.join(f'{t:.3f}' for t in timings)} s")
    print(
        f"target: < {TARGET_SECONDS:.1f} s -> {'met' if best < TARGET_SECONDS else 'MISSED'}"
        f" ({TARGET_SECONDS / best:.0f}x headroom)"
    )
    print(f"peak traced memory during structuring: {peak / 2**20:.1f} MiB")
    print(f"process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
