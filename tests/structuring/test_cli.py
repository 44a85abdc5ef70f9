"""`course-supporter build` and `eval` from the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).parents[1] / "data"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "course_supporter", *args],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)},
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_build_outlines_a_folder_of_chapters_offline(tmp_path: Path) -> None:
    out, outline = tmp_path / "course.json", tmp_path / "course.md"
    result = cli(
        "build",
        str(DATA / "tutorial"),
        "--out",
        str(out),
        "--markdown",
        str(outline),
        "--title",
        "Git",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "[4/4] ingested" in result.stderr
    structure = json.loads(out.read_text())
    reference = json.loads((DATA / "tutorial_reference.json").read_text())
    assert structure["title"] == "Git"
    assert [m["title"] for m in structure["modules"]] == [m["title"] for m in reference["modules"]]
    assert sorted(structure["materials"].values()) == sorted(
        p.name for p in (DATA / "tutorial").glob("*.md")
    )
    markdown = outline.read_text()
    assert markdown.startswith("# Git\n")
    assert "## 1. " in markdown and "## 4. " in markdown

    scored = cli("eval", str(out), str(DATA / "tutorial_reference.json"), cwd=tmp_path)
    assert scored.returncode == 0, scored.stderr
    overall = float(scored.stdout.split("overall score:")[1].split()[0])
    assert overall >= 0.85
    assert "module order (Kendall tau): +1.00" in scored.stdout


def test_build_and_eval_reject_bad_input(tmp_path: Path) -> None:
    missing = cli("build", str(tmp_path / "nope.md"), cwd=tmp_path)
    assert missing.returncode != 0
    assert "no such file" in missing.stderr
    odd = tmp_path / "notes.xyz"
    odd.write_text("x")
    assert "unsupported file type" in cli("build", str(odd), cwd=tmp_path).stderr
    binary = tmp_path / "fake.md"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    broken = cli("build", str(binary), cwd=tmp_path)
    assert broken.returncode == 1
    assert "fake.md" in broken.stderr
    garbage = tmp_path / "g.json"
    garbage.write_text('{"hello": 1}')
    result = cli("eval", str(garbage), str(DATA / "tutorial_reference.json"), cwd=tmp_path)
    assert result.returncode == 1
    assert "not a course structure" in result.stderr
