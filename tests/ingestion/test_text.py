"""Text materials: Markdown, plain text, HTML, DOCX and reStructuredText."""

from __future__ import annotations

from pathlib import Path

import pytest

from course_supporter.config import Settings
from course_supporter.ingestion.document import SourceDocument
from course_supporter.ingestion.errors import IngestionError
from course_supporter.ingestion.extract import extract_document


async def _extract(path: Path, settings: Settings, filename: str | None = None) -> SourceDocument:
    return await extract_document(
        "text", path=path, url=None, filename=filename or path.name, settings=settings
    )


def _outline(document: SourceDocument) -> list[tuple[str, str, int | None]]:
    return [(c.kind.value, c.text, c.ref.heading_level) for c in document.chunks]


async def test_markdown_headings_paragraphs_code_and_tables(
    tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "lesson.md"
    path.write_text(
        "# Loops\n\nA *for* loop repeats `code`\nfor each item.\n\n"
        "## While\n\n- first item\n- second item\n\n"
        "```python\nwhile True:\n    break\n```\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n<div>raw html is text</div>\n",
        encoding="utf-8",
    )
    document = await _extract(path, settings)
    assert document.title == "Loops"
    assert _outline(document) == [
        ("heading", "Loops", 1),
        ("paragraph", "A for loop repeats code for each item.", None),
        ("heading", "While", 2),
        ("paragraph", "first item", None),
        ("paragraph", "second item", None),
        ("code", "while True:\n    break", None),
        ("paragraph", "a | b", None),
        ("paragraph", "1 | 2", None),
        ("paragraph", "<div>raw html is text</div>", None),
    ]


async def test_plain_text_splits_on_blank_lines(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("\ufeffFirst paragraph\nstill first.\n\n\n  Second one.  \n", encoding="utf-8")
    document = await _extract(path, settings)
    assert [c.text for c in document.chunks] == ["First paragraph\nstill first.", "Second one."]
    assert document.title == "notes"


async def test_html_keeps_headings_and_drops_scripts_and_navigation(
    tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Acids</title><style>p{}</style></head><body>"
        "<nav>Home</nav><h1>Acids &amp; bases</h1><p>An acid donates\n   a proton.</p>"
        "<script>alert(1)</script><h3>pH</h3><ul><li>low pH: acidic</li></ul></body></html>",
        encoding="utf-8",
    )
    document = await _extract(path, settings)
    assert document.title == "Acids & bases"  # the content heading, not the site's <title>
    assert _outline(document) == [
        ("heading", "Acids & bases", 1),
        ("paragraph", "An acid donates a proton.", None),
        ("heading", "pH", 3),
        ("paragraph", "low pH: acidic", None),
    ]


async def test_docx_headings_from_styles_and_tables(docx_file: Path, settings: Settings) -> None:
    document = await _extract(docx_file, settings)
    assert document.title == "Python for Beginners"
    assert _outline(document) == [
        ("heading", "Python for Beginners", 1),
        ("paragraph", "This course teaches programming from scratch.", None),
        ("heading", "Variables", 1),
        ("paragraph", "A variable names a value.", None),
        ("heading", "Naming rules", 2),
        ("paragraph", "Names start with a letter or an underscore.", None),
        ("paragraph", "Type | Example", None),
        ("paragraph", "int | 42", None),
    ]


async def test_rst_sections_become_nested_headings(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "guide.rst"
    path.write_text(
        "Chemistry\n=========\n\nAtoms are small.\n\nBonds\n-----\n\n"
        "* ionic bonds\n* covalent bonds\n\n::\n\n    H2 + O2\n\n"
        ".. include:: /etc/passwd\n\n.. raw:: html\n\n   <b>raw</b>\n",
        encoding="utf-8",
    )
    document = await _extract(path, settings)
    assert _outline(document) == [
        ("heading", "Chemistry", 1),
        ("paragraph", "Atoms are small.", None),
        ("heading", "Bonds", 2),
        ("paragraph", "ionic bonds", None),
        ("paragraph", "covalent bonds", None),
        ("code", "H2 + O2", None),
    ]
    assert "root:" not in document.model_dump_json()  # the include directive is disabled


async def test_empty_file_is_a_permanent_error(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "empty.md"
    path.write_bytes(b"")
    with pytest.raises(IngestionError, match="empty") as caught:
        await _extract(path, settings)
    assert caught.value.transient is False


async def test_whitespace_only_file_has_no_text(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "blank.txt"
    path.write_text("\n\n   \n")
    with pytest.raises(IngestionError, match="No text could be extracted"):
        await _extract(path, settings)


async def test_non_utf8_text_is_rejected_with_advice(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "notes.md"
    path.write_bytes("\u0417\u0430\u0433\u043e\u043b\u043e\u0432\u043e\u043a".encode("cp1251"))
    with pytest.raises(IngestionError, match="save it as UTF-8"):
        await _extract(path, settings)


async def test_text_over_the_cap_fails_instead_of_truncating(
    tmp_path: Path, settings: Settings
) -> None:
    settings.ingest_max_text_chars = 1000
    path = tmp_path / "long.txt"
    path.write_text("\n\n".join(f"Paragraph {i} " + "x" * 50 for i in range(30)))
    with pytest.raises(IngestionError, match="more than 1,000 characters"):
        await _extract(path, settings)
    path.write_text("y" * 5000)  # far beyond the cap: refused before parsing
    with pytest.raises(IngestionError, match="split it into smaller materials"):
        await _extract(path, settings)


async def test_zip_bomb_docx_is_refused_before_opening(
    zip_bomb_docx: Path, settings: Settings
) -> None:
    with pytest.raises(IngestionError, match="zip bomb") as caught:
        await _extract(zip_bomb_docx, settings)
    assert caught.value.transient is False


async def test_docx_larger_than_the_unzipped_cap_is_refused(
    docx_file: Path, settings: Settings
) -> None:
    settings.ingest_max_unzipped_bytes = 10_000
    with pytest.raises(IngestionError, match="unpacks to"):
        await _extract(docx_file, settings)


async def test_docx_that_is_not_a_zip_or_not_word(
    tmp_path: Path, pptx_file: Path, settings: Settings
) -> None:
    path = tmp_path / "fake.docx"
    path.write_bytes(b"this is not a zip archive at all")
    with pytest.raises(IngestionError, match="not a valid DOCX file"):
        await _extract(path, settings)
    with pytest.raises(IngestionError, match="not a readable Word document"):
        await _extract(pptx_file, settings, filename="renamed.docx")


async def test_extension_not_allowed_for_the_source_type(
    pptx_file: Path, settings: Settings
) -> None:
    with pytest.raises(IngestionError, match="not an accepted text file"):
        await _extract(pptx_file, settings)


async def test_markdown_front_matter_is_metadata_never_text(
    tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "npm-init.md"
    path.write_text(
        "---\ntitle: npm-init\nsection: 1\ndescription: Create a package.json file\n---\n\n"
        "### Synopsis\n\n```bash\nnpm init <package-spec> (same as `npx create-<package-spec>`)\n"
        "```\n\n### Description\n\n`npm init <initializer>` runs **create-<initializer>**.\n",
        encoding="utf-8",
    )
    document = await _extract(path, settings)
    assert document.title == "npm-init"
    assert document.metadata.front_matter == {
        "title": "npm-init",
        "section": 1,
        "description": "Create a package.json file",
    }
    assert _outline(document) == [
        ("heading", "npm-init", 1),
        ("heading", "Synopsis", 2),
        ("code", "npm init <package-spec> (same as `npx create-<package-spec>`)", None),
        ("heading", "Description", 2),
        ("paragraph", "npm init <initializer> runs create-<initializer>.", None),
    ]
    assert document.chunks[-1].emphasis == ["npm init <initializer>", "create-<initializer>"]
    assert "title:" not in document.model_dump_json(include={"chunks"})


async def test_toml_front_matter_and_broken_yaml(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "page.md"
    path.write_text('+++\ntitle = "Loops"\n+++\n\nText.\n', encoding="utf-8")
    assert (await _extract(path, settings)).title == "Loops"
    path.write_text("---\ntitle: [unclosed\n---\n\nText.\n", encoding="utf-8")
    with pytest.raises(IngestionError, match="front matter that is not valid YAML"):
        await _extract(path, settings)
