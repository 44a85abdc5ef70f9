"""Ingestion throughput: our processors vs the bare library calls on the same generated files,
then end to end: upload → `done` for a generated PDF on the embedded default (a real uvicorn
server process on SQLite with its in-process job worker, upload and polling over HTTP).

Run: .venv/bin/python benchmarks/ingest.py [--pages 500] [--slides 200] [--repeat 5]
         [--e2e-pages 50] [--e2e-repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pypdfium2
from pptx import Presentation

from course_supporter.config import Settings
from course_supporter.db import Database
from course_supporter.ingestion.extract import extract_document
from course_supporter.tenancy import service as tenancy

TARGET_RATIO = 0.8
LINE = "Cellular respiration turns glucose and oxygen into ATP, water and carbon dioxide."


def write_pdf(path: Path, pages: int, lines_per_page: int = 30) -> None:
    """A valid text PDF written by hand: Helvetica, one uncompressed content stream per page."""
    objects = [b"", b"", b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for page in range(1, pages + 1):
        text = " ".join(f"({LINE} {page}.{n}) Tj T*" for n in range(lines_per_page))
        stream = f"BT /F1 10 Tf 40 760 Td 12 TL {text} ET".encode()
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % len(objects)
        )
        kids.append(len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    kid_refs = " ".join(f"{k} 0 R" for k in kids).encode()
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kid_refs, len(kids))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path.write_bytes(out)


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
    def run() -> int:
        document = asyncio.run(
            extract_document(
                source_type, path=path, url=None, filename=path.name, settings=settings
            )
        )
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def issue_key(settings: Settings) -> str:
    db = Database(settings)
    try:
        async with db.sessions() as session:
            await tenancy.create_tenant(session, "bench")
            issued = await tenancy.issue_key(
                session, "bench", scopes="prep,check", rate_prep=10_000, rate_check=10_000
            )
        return issued.raw_key
    finally:
        await db.dispose()


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
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir / 'e2e.db'}",
        "STORAGE_DIR": str(workdir / "storage"),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("EMBEDDED_WORKER", None)
    settings = Settings(_env_file=None, database_url=env["DATABASE_URL"])
    assert settings.runs_embedded_worker
    cli = [sys.executable, "-m", "course_supporter"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    key = asyncio.run(issue_key(settings))
    port = free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port)], env=env, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/health/live").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        times = [upload_to_done(base, key, pdf) for _ in range(repeat)]
    finally:
        server.terminate()
        server.wait(timeout=30)
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
