"""What reporting progress page by page costs: a generated PDF read through the confined child
(`extract_document`) with a progress listener vs without one, in the same run.

Run: .venv/bin/python benchmarks/ingest_progress.py [--pages 500] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from course_supporter.config import Settings
from course_supporter.ingestion.extract import extract_document

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ingest import write_pdf

TARGET_RATIO = 1.05


async def best_of(repeat: int, path: Path, settings: Settings, listen: bool) -> tuple[float, int]:
    best, heard = float("inf"), 0
    for _ in range(repeat):
        reports: list[int] = []

        def note(done: int, total: int | None, phase: str, into: list[int] = reports) -> None:
            into.append(done)

        started = time.perf_counter()
        await extract_document(
            "text", path=path, url=None, filename="book.pdf", settings=settings,
            progress=note if listen else None,
        )  # fmt: skip
        best = min(best, time.perf_counter() - started)
        heard = len(reports)
    return best, heard


async def run(pages: int, repeat: int) -> None:
    settings = Settings(_env_file=None)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "book.pdf"
        write_pdf(path, pages)
        await best_of(1, path, settings, listen=False)  # start the forkserver
        bare, _ = await best_of(repeat, path, settings, listen=False)
        reporting, heard = await best_of(repeat, path, settings, listen=True)
    ratio = reporting / bare
    print(f"{pages}-page PDF, best of {repeat}: without progress {bare * 1000:.0f} ms, "
          f"with {heard} page reports {reporting * 1000:.0f} ms, ratio {ratio:.3f} "
          f"(target ≤ {TARGET_RATIO})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()
    asyncio.run(run(arguments.pages, arguments.repeat))


if __name__ == "__main__":
    main()
