"""Replay the Dockerfile's install steps outside the checkout, without Docker.

    python3 scripts/lib/replay_image_install.py Dockerfile DEST

The builder stage's COPY, ENV, WORKDIR and `uv sync` RUN steps run in DEST/builder, the
runtime stage's `COPY --from=builder` and ENV in DEST/runtime (container paths mapped under
those folders), so an install that leans on the builder's files (an editable install, a
checkout-relative path) fails here as it would in the image: the earlier stages' folders are
removed once the last stage is laid out. OS steps (apt-get, users) are skipped. Writes DEST/cmd.sh: IMAGE_WORKDIR, IMAGE_ENV (NAME=VALUE...) and IMAGE_CMD, the
image's environment and CMD with paths mapped, for `env -i "${IMAGE_ENV[@]}" "${IMAGE_CMD[@]}"`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_dockerfile import logical_lines  # noqa: E402

VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")


@dataclass
class Stage:
    name: str
    root: Path
    workdir: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    cmd: list[str] = field(default_factory=list)

    def host(self, container_path: str) -> Path:
        """A container path under this stage's root."""
        absolute = container_path if container_path.startswith("/") else f"{self.workdir}/{container_path}"
        return self.root / absolute.lstrip("/")

    def map_paths(self, value: str) -> str:
        """Container paths in an ENV value or argument, mapped under this stage's root."""
        return re.sub(r"(?<![\w.])/app\b", str(self.root / "app"), value)


def expand(value: str, variables: dict[str, str]) -> str:
    return VARIABLE.sub(lambda m: variables.get(m.group(1) or m.group(2), os.environ.get(m.group(1) or m.group(2), "")), value)


def parse_env(rest: str) -> dict[str, str]:
    pairs = {}
    for token in shlex.split(rest):
        name, _, value = token.partition("=")
        pairs[name] = value
    return pairs


def copy_into(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def run_uv(command: str, stage: Stage, uv: Path) -> None:
    argv = [token for token in shlex.split(command) if not token.startswith("--mount=")]
    argv = [stage.map_paths(token) for token in argv]
    argv[0] = str(uv)
    env = {**os.environ, **{k: stage.map_paths(v) for k, v in stage.env.items()}}
    cwd = stage.host(stage.workdir)
    print(f"[{stage.name}] RUN {' '.join(argv[1:])}  (in {cwd})", flush=True)
    subprocess.run(argv, cwd=cwd, env=env, check=True)


def replay(dockerfile: Path, dest: Path, uv: Path) -> Stage:
    context = dockerfile.parent
    args: dict[str, str] = {}
    stages: dict[str, Stage] = {}
    stage: Stage | None = None
    for line in logical_lines(dockerfile.read_text()):
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "ARG":
            name, _, default = rest.partition("=")
            args.setdefault(name.strip(), default.strip().strip('"'))
            continue
        if instruction == "FROM":
            name = rest.split()[-1] if " AS " in rest.upper() else f"stage{len(stages)}"
            stage = Stage(name=name, root=dest / name)
            stage.root.mkdir(parents=True)
            stages[name] = stage
            continue
        if stage is None:
            continue
        variables = {**args, **stage.env}
        if instruction == "WORKDIR":
            stage.workdir = expand(rest, variables)
            stage.host(stage.workdir).mkdir(parents=True, exist_ok=True)
        elif instruction == "ENV":
            for name, value in parse_env(rest).items():
                stage.env[name] = expand(value, {**variables, **stage.env})
        elif instruction == "COPY":
            tokens = shlex.split(rest)
            origin = next((t.split("=", 1)[1] for t in tokens if t.startswith("--from=")), None)
            paths = [t for t in tokens if not t.startswith("--")]
            *sources, target = paths
            for source in sources:
                source_path = stages[origin].host(source) if origin else context / source
                destination = stage.host(target)
                if target.endswith("/") or len(sources) > 1:
                    destination = destination / Path(source).name
                copy_into(source_path, destination)
        elif instruction == "RUN":
            command = expand(rest, variables)
            if re.search(r"(^|\s)uv sync\b", command) and "&&" not in command:
                run_uv(command, stage, uv)
            else:
                print(f"[{stage.name}] skipped (not an install step): RUN {command[:70]}")
        elif instruction == "CMD":
            stage.cmd = json.loads(rest)
    if stage is None or not stage.cmd:
        raise SystemExit("no final stage with an exec-form CMD")
    return stage


def main() -> int:
    dockerfile, dest = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    repo = dockerfile.parent
    uv = repo / ".tools" / "bin" / "uv"
    wanted = re.search(r"ARG UV_VERSION=(\S+)", dockerfile.read_text())
    version = subprocess.run([str(uv), "--version"], capture_output=True, text=True, check=True)
    if wanted and wanted.group(1) not in version.stdout:
        raise SystemExit(f"{uv} is {version.stdout.strip()}, the Dockerfile pins {wanted.group(1)}")
    if dest.exists():
        shutil.rmtree(dest)
    final = replay(dockerfile, dest, uv)
    for stage_root in dest.iterdir():
        if stage_root != final.root:
            shutil.rmtree(stage_root)  # the image holds only its last stage
    env = {name: final.map_paths(value) for name, value in final.env.items()}
    env.setdefault("PATH", os.environ["PATH"])
    env["HOME"] = str(final.host(final.workdir))
    executable = shutil.which(final.cmd[0], path=env["PATH"])
    if executable is None:
        raise SystemExit(f"{final.cmd[0]} is not on the image's PATH {env['PATH']}")
    cmd = [executable, *final.cmd[1:]]
    (dest / "cmd.sh").write_text(
        f"IMAGE_WORKDIR={shlex.quote(str(final.host(final.workdir)))}\n"
        f"IMAGE_ENV=({' '.join(shlex.quote(f'{k}={v}') for k, v in env.items())})\n"
        f"IMAGE_CMD=({' '.join(shlex.quote(token) for token in cmd)})\n"
    )
    print(f"image CMD: {' '.join(cmd)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
