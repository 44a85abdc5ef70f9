"""The API as a real uvicorn process (`python -m course_supporter serve`), for tests and benchmarks.

`with run_api_server(tmp_dir, STORAGE_BACKEND="s3", ...) as server:` migrates an SQLite
database in `tmp_dir`, starts the server on a free port and stops it afterwards;
`server.new_key()` makes a tenant and a prep+check key through the CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.s3_server import free_port, stop_process

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Imports take seconds on a busy 2-core machine.
START_TIMEOUT_SECONDS = 180.0


@dataclass(frozen=True)
class ApiServer:
    base_url: str
    port: int
    pid: int
    env: dict[str, str]
    log_path: Path

    def cli(self, *args: str) -> str:
        """Run `course-supporter ARGS` against the server's database; return its stdout."""
        done = subprocess.run(
            [sys.executable, "-m", "course_supporter", *args],
            env=self.env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    def new_key(self, *options: str) -> str:
        """A key of a new tenant; `options` go to `keys create` (e.g. `--rate-check 10`)."""
        tenant = f"tenant-{uuid.uuid4().hex[:10]}"
        self.cli("tenants", "create", tenant)
        issued = json.loads(self.cli("keys", "create", "--tenant", tenant, "--json", *options))
        key: str = issued["key"]
        return key


@contextmanager
def run_api_server(workdir: Path, **settings: str) -> Iterator[ApiServer]:
    """Serve the API from a subprocess, by default on an SQLite database under `workdir`.

    `settings` override the environment; an empty value unsets a variable.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    merged = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir / 'api.db'}",
        "STORAGE_DIR": str(workdir / "storage"),
        "EMBEDDED_WORKER": "false",
        "LOG_LEVEL": "WARNING",
        **settings,
    }
    env = {name: value for name, value in merged.items() if value}
    subprocess.run(
        [sys.executable, "-m", "course_supporter", "db", "upgrade"],
        env=env,
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
    )
    port = free_port()
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "course_supporter", "serve", "--port", str(port)],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = ApiServer(f"http://127.0.0.1:{port}", port, process.pid, env, log_path)
    try:
        _wait_until_live(server, process)
        yield server
    finally:
        stop_process(process, timeout=15)


def _wait_until_live(server: ApiServer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"API server exited with {process.returncode}:\n{server.log_path.read_text()}"
            )
        try:
            if httpx.get(f"{server.base_url}/health/live", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"API server did not start within {START_TIMEOUT_SECONDS:g}s")
