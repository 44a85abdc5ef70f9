"""Ingestion throughput: our processors vs the bare library calls on the same generated files.

Run: .venv/bin/python benchmarks/ingest.py [--pages 500] [--slides 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pypdfium2
from pptx import Presentation

from course_supporter.config import Settings
from course_supporter.ingestion.extract import extract_document

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--slides", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
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


if __name__ == "__main__":
    main()
