from __future__ import annotations

from uuid import UUID

import pytest

from course_supporter.storage import InvalidKey, course_prefix, material_key, safe_filename
from course_supporter.storage.keys import MAX_FILENAME_BYTES, validate_key, validate_prefix

TENANT = UUID("01930000-0000-7000-8000-000000000001")
COURSE = UUID("01930000-0000-7000-8000-000000000002")
MATERIAL = UUID("01930000-0000-7000-8000-000000000003")


def test_material_key_is_namespaced_by_tenant_course_and_material() -> None:
    key = material_key(TENANT, COURSE, MATERIAL, "Lecture 1.mp4")
    assert key == f"tenants/{TENANT}/courses/{COURSE}/materials/{MATERIAL}/Lecture_1.mp4"
    assert key.startswith(course_prefix(TENANT, COURSE))
    assert course_prefix(TENANT, COURSE).endswith("/")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("slides.pdf", "slides.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system.ini", "system.ini"),
        ("C:\\Users\\me\\talk.pptx", "talk.pptx"),
        ("..", "file"),
        ("", "file"),
        ("/", "file"),
        (".bashrc", "bashrc"),
        ("...hidden.txt", "hidden.txt"),
        ("a..b.pdf", "a.b.pdf"),
        ("evil\x00name\r\n.pdf", "evil_name.pdf"),
        ("лекція 1.mp4", "лекція_1.mp4"),
        ("what?*<>|.txt", "what.txt"),
        ("name.", "name"),
        ("  spaced  out  .md", "spaced_out.md"),
    ],
)
def test_safe_filename(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


def test_safe_filename_keeps_the_extension_when_truncating() -> None:
    result = safe_filename("ж" * 500 + ".pptx")
    assert result.endswith(".pptx")
    assert len(result.encode()) <= MAX_FILENAME_BYTES
    result.encode().decode()  # no half characters


def test_safe_filename_never_yields_a_traversal_segment() -> None:
    for name in ["..", "../..", "./.", ". .", "\\..\\", "..\x00..", ".../..."]:
        assert safe_filename(name) not in {"", ".", ".."}
        validate_key(f"x/{safe_filename(name)}")


@pytest.mark.parametrize("bad_id", ["../x", "a/b", "", "x" * 65, "id with space"])
def test_material_key_rejects_ids_that_could_escape(bad_id: str) -> None:
    with pytest.raises(InvalidKey):
        material_key(bad_id, COURSE, MATERIAL, "a.pdf")


@pytest.mark.parametrize(
    "key", ["", "/abs", "a//b", "a/../b", "./a", "a/.", "a\\b", "a\x00b", "a/\x1fb", "x" * 1025]
)
def test_validate_key_rejects_unsafe_keys(key: str) -> None:
    with pytest.raises(InvalidKey):
        validate_key(key)


@pytest.mark.parametrize("prefix", ["tenants/a", "", "/", "tenants//"])
def test_validate_prefix_requires_a_trailing_slash_and_a_real_path(prefix: str) -> None:
    with pytest.raises(InvalidKey):
        validate_prefix(prefix)
