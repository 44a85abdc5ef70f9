"""Ingestion throughput: our processors vs the bare library calls on the same generated files,
then end to end: upload → `done` for a generated PDF on the embedded default (a real uvicorn
server process on SQLite with its in-process job worker, upload and polling over HTTP).

Run: .venv/bin/python benchmarks/ingest.py [--pages 500] [--slides 200] [--repeat 5]
         [--e2e-pages 50] [--e2e-repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pypdfium2
from pptx import Presentation

from course_supporter.config import Settings
from course_supporter.ingestion.extract import parse_file
from course_supporter.ingestion.formats import extension_of

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.api_server import run_api_server
from tests.ingestion.conftest import pdf_bytes

TARGET_RATIO = 0.8
LINE = "Cellular respiration turns glucose and oxygen into ATP, water and carbon dioxide."


def write_pdf(path: Path, pages: int, lines_per_page: int = 30) -> None:
    """A valid text PDF (the tests' generator): Helvetica, one content stream per page."""
    lines = [[f"{LINE} {page}.{n}" for n in range(lines_per_page)] for page in range(pages)]
    path.write_bytes(pdf_bytes(lines))


def write_pptx(path: Path, slides: int) -> None:
    """A deck of title-and-content slides, each with three bullets and speaker notes."""
    deck = Presentation()
    for number in range(1, slides + 1):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = f"Topic {number}"
        body = slide.placeholders[1].text_frame
        body.text = f"{LINE} ({number})"
        for bullet in range(2):
            body.add_paragraph().text = f"Point {bullet} of slide {number}"
        slide.notes_slide.notes_text_frame.text = f"Say more about topic {number}."
    deck.save(str(path))


def bare_pdf(path: Path) -> int:
    pdf = pypdfium2.PdfDocument(path)
    total = 0
    for index in range(len(pdf)):
        page = pdf[index]
        textpage = page.get_textpage()
        total += len(textpage.get_text_range())
        textpage.close()
        page.close()
    pdf.close()
    return total


def bare_pptx(path: Path, *, notes: bool) -> int:
    total = 0
    for slide in Presentation(str(path)).slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                total += len(shape.text_frame.text)
        if notes and slide.has_notes_slide:
            total += len(slide.notes_slide.notes_text_frame.text)
    return total


def processor(source_type: str, path: Path, settings: Settings) -> Callable[[], int]:
    # The processor in this process: through extract_document its CPU time would be spent in
    # the confined child, invisible to process_time().
    def run() -> int:
        document = parse_file(extension_of(path.name), path, path.name, settings)
        return len(document.chunks)

    return run


def best_times(
    ours: Callable[[], object], bare: Callable[[], object], repeat: int
) -> tuple[float, float]:
    """Fastest CPU time of each, runs interleaved, so load from other processes skews neither."""
    ours_times, bare_times = [], []
    for _ in range(repeat):
        for call, times in ((ours, ours_times), (bare, bare_times)):
            start = time.process_time()
            call()
            times.append(time.process_time() - start)
    return min(ours_times), min(bare_times)


def report(label: str, units: int, unit: str, ours: float, bare: float) -> float:
    ratio = bare / ours
    verdict = "ok" if ratio >= TARGET_RATIO else f"BELOW TARGET {TARGET_RATIO}"
    print(
        f"{label:<34} processor {units / ours:8.0f} {unit}/s   bare {units / bare:8.0f} {unit}/s"
        f"   ratio {ratio:4.2f} ({verdict})"
    )
    return ratio


def upload_to_done(base: str, key: str, pdf: Path) -> float:
    """Seconds from the start of the upload until the job succeeded and the material is done."""
    headers = {"X-API-Key": key}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
        course = http.post("/api/v1/courses", json={"title": "Benchmark"}).json()["id"]
        start = time.perf_counter()
        with pdf.open("rb") as body:
            created = http.post(
                f"/api/v1/courses/{course}/materials",
                data={"source_type": "presentation"},
                files={"file": (pdf.name, body, "application/pdf")},
            ).json()
        while True:
            job = http.get(f"/api/v1/jobs/{created['job_id']}").json()
            if job["status"] in {"succeeded", "failed"}:
                break
            time.sleep(0.02)
        elapsed = time.perf_counter() - start
        material = http.get(f"/api/v1/courses/{course}/materials/{created['id']}").json()
        if job["status"] != "succeeded" or material["status"] != "done":
            raise SystemExit(f"ingestion did not finish: {job} {material}")
        return elapsed


def end_to_end(workdir: Path, pages: int, repeat: int) -> None:
    pdf = workdir / "lecture.pdf"
    write_pdf(pdf, pages)
    database_url = f"sqlite:///{workdir / 'e2e.db'}"
    settings = Settings(_env_file=None, database_url=database_url)
    assert settings.runs_embedded_worker
    # EMBEDDED_WORKER unset: the embedded default, as `make run` serves it.
    with run_api_server(workdir / "server", DATABASE_URL=database_url, EMBEDDED_WORKER="") as api:
        key = api.new_key("--rate-prep", "10000", "--rate-check", "10000")
        times = [upload_to_done(api.base_url, key, pdf) for _ in range(repeat)]
    print(
        f"End to end, {pages}-page PDF ({pdf.stat().st_size / 2**20:.1f} MB), embedded default "
        f"(uvicorn + SQLite + in-process worker): upload → done "
        + ", ".join(f"{t:.2f}" for t in times)
        + f" s (best {min(times):.2f} s; relay interval {settings.job_relay_interval_seconds:g} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--slides", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--e2e-pages", type=int, default=50)
    parser.add_argument("--e2e-repeat", type=int, default=3)
    args = parser.parse_args()
    settings = Settings(_env_file=None)
    with tempfile.TemporaryDirectory(prefix="cs-bench-") as workdir:
        pdf_path, pptx_path = Path(workdir) / "book.pdf", Path(workdir) / "deck.pptx"
        write_pdf(pdf_path, args.pages)
        write_pptx(pptx_path, args.slides)
        print(f"PDF {args.pages} pages ({pdf_path.stat().st_size / 2**20:.1f} MB), "
              f"PPTX {args.slides} slides ({pptx_path.stat().st_size / 2**20:.1f} MB), "
              f"best CPU time of {args.repeat}")  # fmt: skip
        pdf = processor("presentation", pdf_path, settings)
        ours, bare = best_times(pdf, lambda: bare_pdf(pdf_path), args.repeat)
        report("PDF (pypdfium2 text per page)", args.pages, "pages", ours, bare)
        deck = processor("presentation", pptx_path, settings)
        ours, bare = best_times(deck, lambda: bare_pptx(pptx_path, notes=False), args.repeat)
        report("PPTX (shapes' text)", args.slides, "slides", ours, bare)
        ours, bare = best_times(deck, lambda: bare_pptx(pptx_path, notes=True), args.repeat)
        report("PPTX (shapes' text + notes)", args.slides, "slides", ours, bare)
        end_to_end(Path(workdir), args.e2e_pages, args.e2e_repeat)


if __name__ == "__main__":
    main()
