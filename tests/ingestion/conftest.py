"""Fixtures for ingestion tests: real sample files and a local HTTP server."""

from __future__ import annotations

import io
import math
import socket
import struct
import time
import wave
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import docx
import pytest
from pptx import Presentation
from pptx.util import Inches

from course_supporter.config import Settings
from tests.servers import serving, url_of


def pdf_bytes(pages: list[list[str]], *, encrypted: bool = False, landscape: bool = False) -> bytes:
    """A minimal valid PDF, one list of text lines per page (Helvetica, uncompressed)."""
    objects = [b"", b"", b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    box, top = (b"[0 0 792 612]", 540) if landscape else (b"[0 0 612 792]", 720)
    for lines in pages:
        ops = [f"BT /F1 16 Tf 72 {top} Td 20 TL"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({escaped}) Tj T*")
        ops.append("ET")
        stream = " ".join(ops).encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        kids.append(len(objects) + 1)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox %s "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (box, len(objects))
        )
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        " ".join(f"{k} 0 R" for k in kids).encode(),
        len(kids),
    )
    trailer = b""
    if encrypted:
        # Standard security handler, RC4 40-bit, with a user password we do not know:
        # /U does not match the empty password, so a reader must ask for one.
        objects.append(b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P -44 >>" % (
            b"11" * 32, b"22" * 32))  # fmt: skip
        trailer = b" /Encrypt %d 0 R /ID [<%s> <%s>]" % (len(objects), b"ab" * 16, b"ab" * 16)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        trailer,
        xref,
    )
    return bytes(out)


TOPICS = ["commits", "branches", "merges", "rebases", "tags", "remotes",
          "stashes", "hooks", "blame", "bisect", "worktrees", "submodules"]  # fmt: skip


def topic_pages_pdf() -> bytes:
    """A PDF of one topic a page, each page's lines unlike the others' (none a running header)."""
    return pdf_bytes(
        [[f"About {topic}", f"The {topic} of a repository are explained here at length."]
         for topic in TOPICS]
    )  # fmt: skip


def many_paragraphs_docx(path: Path, paragraphs: int, styles: int) -> Path:
    """A real DOCX (python-docx's template) with `paragraphs` paragraphs spread over `styles`
    custom paragraph styles, written as XML because python-docx adds styles one scan at a time."""
    template = io.BytesIO()
    docx.Document().save(template)
    with zipfile.ZipFile(template) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    style_xml = "".join(
        f'<w:style w:type="paragraph" w:customStyle="1" w:styleId="Custom{i}">'
        f'<w:name w:val="Custom {i}"/></w:style>'
        for i in range(styles)
    )
    parts["word/styles.xml"] = parts["word/styles.xml"].replace(
        b"</w:styles>", style_xml.encode() + b"</w:styles>"
    )
    body = "".join(
        f'<w:p><w:pPr><w:pStyle w:val="Custom{i * 7919 % styles}"/></w:pPr>'
        f"<w:r><w:t>Paragraph {i}</w:t></w:r></w:p>"
        for i in range(paragraphs)
    )
    parts["word/document.xml"] = parts["word/document.xml"].replace(
        b"<w:body>", b"<w:body>" + body.encode(), 1
    )
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


@pytest.fixture
def settings() -> Settings:
    """Hermetic settings: no .env, no speech engine, small limits so caps are reachable."""
    return Settings(
        _env_file=None,
        whisper_model_path=None,
        fetch_allowed_hosts=[],
        fetch_timeout_seconds=2.0,
        fetch_total_timeout_seconds=10.0,
        fetch_max_bytes=256 * 1024,
    )


@pytest.fixture
def pdf_file(tmp_path: Path) -> Path:
    path = tmp_path / "deck.pdf"
    path.write_bytes(
        pdf_bytes(
            [
                ["Cell biology", "The cell is the unit of life"],
                ["Mitochondria", "Mitochondria produce ATP (energy)"],
                ["Summary", "Cells, organelles and energy"],
            ],
            landscape=True,
        )
    )
    return path


@pytest.fixture
def pptx_file(tmp_path: Path) -> Path:
    deck = Presentation()
    deck.core_properties.title = "Intro to Genetics"
    contents = [
        ("DNA", ["DNA stores genetic information", "It is a double helix"], "Mention Crick"),
        ("Genes", ["A gene codes for a protein"], ""),
        ("Mutations", ["Mutations change the sequence"], "Ask the class for examples"),
    ]  # fmt: skip
    for title, bullets, notes in contents:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        body = slide.placeholders[1].text_frame
        body.text = bullets[0]
        for bullet in bullets[1:]:
            body.add_paragraph().text = bullet
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    extra = deck.slides[1].shapes.add_textbox(Inches(1), Inches(5), Inches(4), Inches(1))
    extra.text_frame.text = "Footnote: genes live on chromosomes"
    path = tmp_path / "genetics.pptx"
    deck.save(str(path))
    return path


@pytest.fixture
def docx_file(tmp_path: Path) -> Path:
    document = docx.Document()
    document.add_heading("Python for Beginners", level=0)
    document.add_paragraph("This course teaches programming from scratch.")
    document.add_heading("Variables", level=1)
    document.add_paragraph("A variable names a value.")
    document.add_heading("Naming rules", level=2)
    document.add_paragraph("Names start with a letter or an underscore.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Type", "Example"
    table.cell(1, 0).text, table.cell(1, 1).text = "int", "42"
    path = tmp_path / "python.docx"
    document.save(str(path))
    return path


@pytest.fixture
def zip_bomb_docx(tmp_path: Path) -> Path:
    """A .docx whose document.xml inflates from ~50 KB to 50 MB."""
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * (50 * 1024 * 1024))
    return path


@pytest.fixture
def wav_file(tmp_path: Path) -> Path:
    """One second of a 440 Hz tone, 16-bit mono 8 kHz."""
    path = tmp_path / "tone.wav"
    rate = 8000
    frames = b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(rate)
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return path


ARTICLE = b"""<!doctype html><html><head><title>Photosynthesis basics</title></head><body>
<nav><a href="/">Home</a> | <a href="/about">About</a></nav>
<article><h1>Photosynthesis</h1>
<p>Plants convert light energy into chemical energy through photosynthesis, a process that
happens in the chloroplasts of leaf cells and feeds almost every food chain on Earth.</p>
<h2>Light reactions</h2>
<p>The light-dependent reactions take place in the thylakoid membranes and produce ATP and
NADPH, which the plant then spends in the Calvin cycle to build sugars.</p>
<h2>Calvin cycle</h2>
<p>The Calvin cycle fixes carbon dioxide from the air into three-carbon sugars using the
energy carriers produced earlier by the light reactions.</p></article>
<footer>Copyright Example School</footer></body></html>"""

SUBTITLES = b"""WEBVTT

00:00:01.000 --> 00:00:04.500
Welcome to the lecture on cells.

00:00:05.000 --> 00:00:09.250
Today we look at mitochondria.
"""


class _Handler(BaseHTTPRequestHandler):
    server: _TestServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        port = self.server.server_address[1]
        route = self.path.split("?")[0]
        try:
            if route == "/article":
                self._send(200, ARTICLE, "text/html; charset=utf-8")
            elif route == "/echo-host":
                host = self.headers.get("Host", "").encode()
                body = (
                    b"<html><body><h1>Echo</h1><p>Host header was " + host + b".</p></body></html>"
                )
                self._send(200, body, "text/html")
            elif route == "/redirect-to":
                self._redirect(parse_qs(urlsplit(self.path).query)["to"][0])
            elif route == "/redirect-ok":
                self._redirect("/article")
            elif route == "/redirect-localhost":
                self._redirect(f"http://localhost:{port}/article")
            elif route == "/redirect-metadata":
                self._redirect("http://169.254.169.254/latest/meta-data/")
            elif route == "/redirect-mapped":
                self._redirect("http://[::ffff:10.0.0.1]/")
            elif route.startswith("/loop/"):
                self._redirect(f"/loop/{int(route.rsplit('/', 1)[1]) + 1}")
            elif route == "/missing":
                self._send(404, b"<h1>Not found</h1>", "text/html")
            elif route == "/unavailable":
                self._send(503, b"<h1>Try later</h1>", "text/html")
            elif route == "/file.pdf":
                self._send(200, b"%PDF-1.4 not a page", "application/pdf")
            elif route == "/slow":
                time.sleep(4)
                self._send(200, ARTICLE, "text/html")
            elif route == "/huge-declared":
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(2 * 1024**3))
                self.end_headers()
                self.wfile.write(b"<html>" + b"x" * 1024)
            elif route == "/endless":
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                piece = b"<p>" + b"a" * 65536 + b"</p>"
                for _ in range(2000):  # ~130 MB at most, far above any cap in the tests
                    self.wfile.write(piece)
            elif route == "/video-page":
                self._send(200, self._video_page("/clip.vtt"), "text/html")
            elif route == "/video-page-foreign-track":
                self._send(200, self._video_page(f"http://localhost:{port}/clip.vtt"), "text/html")
            elif route == "/video-page-missing-track":
                self._send(200, self._video_page("/missing.vtt"), "text/html")
            elif route == "/video-page-no-track":
                page = b'<html><body><video src="/clip.mp4"></video></body></html>'
                self._send(200, page, "text/html")
            elif route == "/clip.vtt":
                self._send(200, SUBTITLES, "text/vtt")
            else:
                self._send(404, b"", "text/plain")
        except (BrokenPipeError, ConnectionResetError):
            pass

    @staticmethod
    def _video_page(track: str) -> bytes:
        return (
            '<html><head><title>Cell lecture</title></head><body><video src="/clip.mp4">'
            f'<track kind="subtitles" srclang="en" label="English" src="{track}">'
            "</video></body></html>"
        ).encode()

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


class _TestServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self.requests: list[str] = []


class _TestServer6(_TestServer):
    address_family = socket.AF_INET6


@pytest.fixture(scope="session")
def web_server() -> Iterator[_TestServer]:
    """A real HTTP server on 127.0.0.1 serving pages, redirects, errors and oversized bodies."""
    with serving(_TestServer(("127.0.0.1", 0), _Handler)) as server:
        yield server


@pytest.fixture
def internal_servers() -> Iterator[tuple[_TestServer, _TestServer]]:
    """The same HTTP server on 127.0.0.1:PORT and [::1]:PORT, standing for an internal service."""
    for _attempt in range(20):
        ipv4 = _TestServer(("127.0.0.1", 0), _Handler)
        try:
            ipv6 = _TestServer6(("::1", ipv4.server_address[1]), _Handler)
        except OSError:  # that port is taken on ::1; try another
            ipv4.server_close()
            continue
        with serving(ipv4), serving(ipv6):
            yield ipv4, ipv6
        return
    pytest.fail("no port free on both 127.0.0.1 and ::1")


@pytest.fixture
def base_url(web_server: _TestServer) -> str:
    return url_of(web_server)


@pytest.fixture
def local_settings(settings: Settings, web_server: _TestServer) -> Settings:
    """Settings whose allow-list lets fetches reach the local test server (and only it)."""
    settings.fetch_allowed_hosts = [f"127.0.0.1:{web_server.server_address[1]}"]
    return settings
