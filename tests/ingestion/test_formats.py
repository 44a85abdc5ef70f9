"""Upload type checks: extension allowed per source type, and content matching the extension."""

from __future__ import annotations

import zipfile
from io import BytesIO
from pathlib import Path

import pytest

from course_supporter.ingestion.errors import UnsupportedMaterialType
from course_supporter.ingestion.formats import check_upload_type
from tests.ingestion.conftest import pdf_bytes


def _status(source_type: str, filename: str, head: bytes) -> int:
    with pytest.raises(UnsupportedMaterialType) as caught:
        check_upload_type(source_type, filename, head)
    return caught.value.status_code


def test_accepts_each_format_for_its_source_type(
    pdf_file: Path, pptx_file: Path, docx_file: Path, wav_file: Path
) -> None:
    assert check_upload_type("text", "notes.md", b"# Title\n\nBody") == "text/markdown"
    assert check_upload_type("text", "page.HTML", b"<html><p>x</p></html>") == "text/html"
    assert check_upload_type("text", "guide.rst", b"Title\n=====\n") == "text/x-rst"
    assert check_upload_type("text", "doc.docx", docx_file.read_bytes()[:4096]).endswith(
        "wordprocessingml.document"
    )
    assert check_upload_type("presentation", "deck.pdf", pdf_file.read_bytes()[:4096]) == (
        "application/pdf"
    )
    assert check_upload_type("presentation", "deck.pptx", pptx_file.read_bytes()[:4096]).endswith(
        "presentationml.presentation"
    )
    assert check_upload_type("video", "talk.vtt", b"WEBVTT\n\n") == "text/vtt"
    assert check_upload_type("video", "talk.srt", b"1\n00:00:01,000 --> 00:00:02,000\nHi\n")
    assert check_upload_type("video", "talk.wav", wav_file.read_bytes()[:4096]) == "audio/x-wav"


@pytest.mark.parametrize(
    ("source_type", "filename"),
    [
        ("text", "deck.pptx"),
        ("presentation", "notes.md"),
        ("presentation", "deck.ppt"),
        ("video", "clip.avi"),
        ("text", "README"),
        ("text", "run.exe"),
    ],
)
def test_type_not_allowed_for_source_type_is_415(source_type: str, filename: str) -> None:
    assert _status(source_type, filename, b"whatever") == 415


def test_web_takes_no_file_and_unknown_source_type_is_rejected() -> None:
    assert _status("web", "page.html", b"<html>") == 422
    assert _status("audio", "a.mp3", b"ID3") == 422


def test_content_contradicting_the_extension_is_422(docx_file: Path, pptx_file: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    assert _status("text", "notes.md", png) == 422  # binary file named .md
    assert _status("text", "notes.txt", b"plain words\x00and a NUL") == 422
    assert _status("text", "notes.md", "Привіт".encode("cp1251")) == 422  # not UTF-8
    assert _status("presentation", "deck.pdf", b"<html>not a pdf</html>") == 422
    assert _status("text", "doc.docx", b"plain text, not a zip") == 422
    assert _status("text", "doc.docx", pptx_file.read_bytes()[:4096]) == 422  # a pptx in disguise
    assert _status("presentation", "deck.pptx", docx_file.read_bytes()[:4096]) == 422
    assert _status("video", "talk.vtt", b"1\n00:00:01,000 --> 00:00:02,000\nHi\n") == 422
    assert _status("video", "talk.mp4", b"just some text pretending to be a video") == 422
    assert _status("text", "empty.md", b"") == 422


def test_text_head_may_end_inside_a_multibyte_character() -> None:
    head = "Ціль уроку: ".encode() * 10
    assert check_upload_type("text", "notes.md", head[:-1]) == "text/markdown"
    assert _status("text", "notes.md", b"ok" + b"\xd0" + b"middle of text") == 422


def test_generic_zip_is_accepted_as_office_head_only_when_not_another_office_type() -> None:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    assert check_upload_type("text", "doc.docx", buffer.getvalue())


def test_pdf_header_found_after_leading_junk() -> None:
    assert check_upload_type("presentation", "d.pdf", b"\n\n" + pdf_bytes([["x"]])[:512])
