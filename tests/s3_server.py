"""A real S3-compatible HTTP server (moto's server mode) for tests and benchmarks.

In a test module or conftest: `from tests.s3_server import s3_server` (session fixture).
From another process: `python -m tests.s3_server --port 9000` prints the endpoint URL and
serves until interrupted; or use `with run_s3_server() as server:` in a script.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import httpx
import pytest

from tests.servers import free_port, stop_process

__all__ = [
    "S3Server",
    "free_port",
    "run_s3_server",
    "s3_server",
    "s3_server_with_auth",
    "stop_process",
]

ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"
REGION = "us-east-1"
START_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class S3Server:
    """Where a running test S3 server listens and which credentials it accepts."""

    endpoint_url: str
    access_key_id: str = ACCESS_KEY_ID
    secret_access_key: str = SECRET_ACCESS_KEY
    region: str = REGION

    def reset(self) -> None:
        """Forget every bucket, object and upload (moto's reset endpoint)."""
        httpx.post(f"{self.endpoint_url}/moto-api/reset").raise_for_status()


@contextmanager
def run_s3_server(*, port: int = 0, require_auth: bool = False) -> Iterator[S3Server]:
    """Start `python -m moto.server` on 127.0.0.1 in a subprocess and stop it afterwards.

    With `require_auth`, moto checks credentials against its IAM from the first request
    on (INITIAL_NO_AUTH_ACTION_COUNT=0), so unknown keys are refused as on real S3.
    """
    port = port or free_port()
    env = dict(os.environ)
    if require_auth:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = S3Server(endpoint_url=f"http://127.0.0.1:{port}")
    try:
        _wait_until_ready(server, process)
        yield server
    finally:
        stop_process(process, timeout=10)


def _wait_until_ready(server: S3Server, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with status {process.returncode}")
        try:
            httpx.get(f"{server.endpoint_url}/moto-api/", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"moto server did not start within {START_TIMEOUT_SECONDS:g}s")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """One moto S3 server for the whole test session."""
    with run_s3_server() as server:
        yield server


@pytest.fixture(scope="session")
def s3_server_with_auth() -> Iterator[S3Server]:
    """A moto S3 server that refuses credentials its IAM does not know."""
    with run_s3_server(require_auth=True) as server:
        yield server


def main() -> None:
    """Serve until interrupted; prints the endpoint URL and credentials on stdout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--require-auth", action="store_true")
    args = parser.parse_args()
    with run_s3_server(port=args.port, require_auth=args.require_auth) as server:
        print(f"S3_ENDPOINT_URL={server.endpoint_url}", flush=True)
        print(f"S3_ACCESS_KEY_ID={server.access_key_id}", flush=True)
        print(f"S3_SECRET_ACCESS_KEY={server.secret_access_key}", flush=True)
        print(f"S3_REGION={server.region}", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        with suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
