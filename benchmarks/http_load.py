"""Shared by the HTTP benchmarks: a keep-alive load generator in its own process, and one
uvicorn process of the app (`tests.api_server`) with a tenant key whose limits cannot trip.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.api_server import run_api_server

LIVE = "/health/live"
ME = "/api/v1/me"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    statuses: dict[int, int]
    server_cpu: float = 0.0  # CPU seconds the server process used in the measured window

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us_per_request(self) -> float:
        return self.server_cpu / max(1, self.requests + self.errors) * 1e6


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def _connection(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    request: bytes,
    start: float,
    stop: float,
    statuses: dict[int, int],
) -> int:
    """Sends requests back to back on one keep-alive connection; counts those inside the window."""
    counted = 0
    try:
        while True:
            writer.write(request)
            status = await _read_response(reader)
            done = time.monotonic()
            if done >= stop:
                break
            if done >= start:
                counted += 1
                statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()
        with suppress(Exception):
            await writer.wait_closed()
    return counted


async def _load(
    port: int, path: str, headers: dict[str, str], connections: int, ready: Any, window: Any
) -> LoadResult:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: keep-alive"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    streams = [await asyncio.open_connection("127.0.0.1", port) for _ in range(connections)]
    ready.put(True)
    # CLOCK_MONOTONIC is system-wide, so the parent's window applies here unchanged.
    start, stop = await asyncio.get_running_loop().run_in_executor(None, window.get)
    statuses: dict[int, int] = {}
    counts = await asyncio.gather(
        *(_connection(reader, writer, request, start, stop, statuses) for reader, writer in streams)
    )
    errors = sum(n for status, n in statuses.items() if status not in (200, 304))
    return LoadResult(sum(counts) - errors, errors, stop - start, statuses)


def _load_process(
    port: int, path: str, headers: dict[str, str], connections: int, queues: tuple[Any, ...]
) -> None:
    """Entry point of the load generator process."""
    ready, window, results = queues
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    results.put(asyncio.run(_load(port, path, headers, connections, ready, window)))


def _cpu_seconds(server: psutil.Process) -> float:
    times = server.cpu_times()
    return float(times.user + times.system)


def measure(
    server: psutil.Process,
    port: int,
    path: str,
    headers: dict[str, str],
    options: argparse.Namespace,
) -> LoadResult:
    """Runs the load generator in a separate process for one warm-up plus measured window.

    Also samples the server's CPU time over the window: on a busy machine requests/s moves
    with whatever else runs, CPU time per request much less so.
    """
    context = multiprocessing.get_context("spawn")
    ready, window, results = context.Queue(), context.Queue(), context.Queue()
    process = context.Process(
        target=_load_process,
        args=(port, path, headers, options.connections, (ready, window, results)),
        daemon=True,
    )
    process.start()
    ready.get(timeout=120)
    start = time.monotonic() + options.warmup
    stop = start + options.duration
    window.put((start, stop))
    time.sleep(max(0.0, start - time.monotonic()))
    cpu_start = _cpu_seconds(server)
    time.sleep(max(0.0, stop - time.monotonic()))
    cpu_used = _cpu_seconds(server) - cpu_start
    result: LoadResult = results.get(timeout=60)
    process.join(30)
    result.server_cpu = cpu_used
    return result


# --- the server under test ---------------------------------------------------------------------


@contextmanager
def running_server(database_url: str, redis_url: str | None, workdir: Path) -> Iterator[Any]:
    """One uvicorn process on a migrated database and a key whose limits cannot trip;
    yields (process, port, key, env)."""
    settings = {"DATABASE_URL": database_url, "REDIS_URL": redis_url or "", "ENVIRONMENT": ""}
    with run_api_server(workdir, **settings) as server:
        key = server.new_key("--rate-prep", "1000000", "--rate-check", "1000000")
        probe = httpx.get(f"{server.base_url}{ME}", headers={"X-API-Key": key})
        if probe.status_code != 200:
            raise RuntimeError(f"{ME} answered {probe.status_code}: {probe.text}")
        yield psutil.Process(server.pid), server.port, key, server.env


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A throwaway database `cs_bench_<hex>`, dropped afterwards."""
    name = f"cs_bench_{uuid.uuid4().hex[:12]}"
    admin = make_url(admin_url).set(drivername="postgresql")
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
