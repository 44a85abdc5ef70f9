"""Structural checks of the Dockerfile that hadolint does not make (or that must hold
even where hadolint is unavailable). Prints PASS/FAIL lines; exit 1 on any FAIL.

    python3 scripts/lib/check_dockerfile.py [Dockerfile] [.dockerignore]
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path


def logical_lines(text: str) -> list[str]:
    """Join backslash continuations, drop comments and blank lines."""
    out: list[str] = []
    buf = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if buf and line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        out.append((buf + line).strip())
        buf = ""
    if buf:
        out.append(buf.strip())
    return out


def main() -> int:
    dockerfile = Path(sys.argv[1] if len(sys.argv) > 1 else "Dockerfile")
    dockerignore = Path(sys.argv[2] if len(sys.argv) > 2 else ".dockerignore")
    results: list[tuple[bool, str]] = []

    def check(ok: bool, msg: str) -> None:
        results.append((ok, msg))

    lines = logical_lines(dockerfile.read_text())
    args: dict[str, str] = {}
    stages: list[list[str]] = []
    froms: list[str] = []
    for line in lines:
        instr, _, rest = line.partition(" ")
        instr = instr.upper()
        if instr == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip().strip('"')
        if instr == "FROM":
            stages.append([])
            froms.append(rest)
        if stages:
            stages[-1].append(line)

    check(len(stages) >= 2, f"multi-stage build ({len(stages)} stages)")

    def resolve(image: str) -> str:
        return re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), image)

    stage_names = {f.split()[-1].lower() for f in froms if " as " in f.lower()}
    for f in froms:
        image = resolve(f.split()[0])
        if image.lower() in stage_names:
            continue
        tagged = ":" in image.rsplit("/", 1)[-1] or "@sha256:" in image
        check(tagged and not image.endswith(":latest"), f"base image pinned, not latest: {image}")

    final = stages[-1] if stages else []
    users = [ln.split(None, 1)[1] for ln in final if ln.upper().startswith("USER ")]
    check(bool(users) and users[-1].split(":")[0] not in ("root", "0"),
          f"final stage runs as a non-root USER ({users[-1] if users else 'none'})")

    health = [ln for ln in final if ln.upper().startswith("HEALTHCHECK ")]
    check(bool(health) and "/health/live" in health[-1], "HEALTHCHECK probes /health/live")
    check(bool(health) and "curl" not in health[-1] and "wget" not in health[-1],
          "HEALTHCHECK needs no curl/wget (uses python)")

    def exec_form(prefix: str) -> list[str]:
        found = [ln for ln in final if ln.upper().startswith(prefix + " ")]
        if not found:
            return []
        body = found[-1].split(None, 1)[1]
        try:
            import json

            return list(json.loads(body))
        except ValueError:
            return shlex.split(body)

    cmd = exec_form("CMD")
    entry = exec_form("ENTRYPOINT")
    full = entry + cmd
    check("-m" in full and "course_supporter" in full and "python" in " ".join(full),
          f"entry point is `python -m course_supporter` ({' '.join(full)})")
    console = {"uvicorn", "alembic", "course-supporter", "yt-dlp"}
    check(not any(Path(tok).name in console for tok in full),
          "no console-script entry point (shebang would point into the builder)")
    check(any(ln.upper().startswith("EXPOSE ") and "8000" in ln for ln in final), "EXPOSE 8000")

    text = "\n".join(lines)
    check("UV_LINK_MODE=copy" in text, "UV_LINK_MODE=copy in the builder")
    check(re.search(r"uv==\$\{?UV_VERSION\}?|uv==\d", text) is not None
          and re.search(r"UV_VERSION=0\.13\.8", text) is not None, "uv pinned to 0.13.8")
    check("uv sync --frozen" in text and "--no-dev" in text, "uv sync --frozen --no-dev (lock file)")
    check(any("ffmpeg" in ln for ln in final), "ffmpeg installed in the runtime stage")
    check(any("PATH=" in ln and "/app/.venv/bin" in ln for ln in final), "venv on PATH")
    check(any(ln.upper().startswith("COPY --FROM=") and ".venv" in ln for ln in final),
          "runtime copies the venv from the builder")

    check(dockerignore.is_file(), f"{dockerignore} exists")
    if dockerignore.is_file():
        ignored = {ln.strip() for ln in dockerignore.read_text().splitlines()}
        for must in (".git", ".venv", ".env"):
            check(must in ignored, f".dockerignore excludes {must}")

    for ok, msg in results:
        print(f"{'PASS' if ok else 'FAIL'}  dockerfile: {msg}")
    return 0 if all(ok for ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
