"""CLI start-up: `course-supporter --help`, `tenants create` and `keys create`, wall time per run.

The baseline, measured in the same run, is the interpreter starting and exiting
(`python -c pass`); each command is reported as seconds and as a multiple of it.
Targets: `--help` <= 0.3 s, `tenants create` <= 1 s.

Run: .venv/bin/python benchmarks/cli.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from course_supporter.migrate import upgrade

TARGETS = {"--help": 0.3, "tenants create": 1.0}


def wall_time(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'cli.db'}"
        upgrade(database_url=url)
        env = {**os.environ, "DATABASE_URL": url}
        # With PYTHONDONTWRITEBYTECODE set (this machine's shell sets it) no .pyc is ever kept,
        # and every start compiled sqlalchemy and pydantic from source again: 60% of
        # `tenants create`. An installed system has bytecode (`make install` and the image
        # compile it); measure that.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        cli = [sys.executable, "-m", "course_supporter"]
        runs = {
            "python -c pass (baseline)": lambda i: [sys.executable, "-c", "pass"],
            "--help": lambda i: [*cli, "--help"],
            "tenants create": lambda i: [*cli, "tenants", "create", f"tenant-{i}"],
            "keys create": lambda i: [*cli, "keys", "create", "--tenant", f"tenant-{i}"],
        }
        wall_time([*cli, "--help"], env)  # bytecode compiled once, as on an installed system
        medians = {
            name: statistics.median(wall_time(argv(i), env) for i in range(repeat))
            for name, argv in runs.items()
        }
    baseline = medians["python -c pass (baseline)"]
    print(f"{'command':<28} {'median s':>9} {'x baseline':>11} {'target s':>9}")
    for name, seconds in medians.items():
        target = TARGETS.get(name)
        verdict = "" if target is None else ("ok" if seconds <= target else "OVER")
        shown_target = f"{target:.1f}" if target else ""
        print(f"{name:<28} {seconds:>9.3f} {seconds / baseline:>11.1f} {shown_target:>9} {verdict}")


if __name__ == "__main__":
    main()
