"""Two API processes and one worker on PostgreSQL: an event the worker writes reaches SSE
clients of either API process, and never another tenant's."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from course_supporter.db import Database
from course_supporter.tenancy.service import create_tenant, issue_key
from tests.api_server import PROJECT_ROOT, run_api_server
from tests.conftest import make_settings
from tests.s3_server import stop_process

# Three processes start on a machine other suites share: give them room.
pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(900)]

NOTES = b"# Processes\n\n## One\n\nEvents cross processes.\n"
WANTED = {"material.done", "job.succeeded"}


async def collect_types(
    base_url: str, key: str, seen: set[str], stop: asyncio.Event, opened: asyncio.Event
) -> None:
    # A new tenant's stream from its start: what a client opening it late would also get.
    headers = {"X-API-Key": key, "Last-Event-ID": "0"}
    timeout = httpx.Timeout(10.0, read=None)
    async with (
        httpx.AsyncClient(timeout=timeout) as client,
        client.stream("GET", f"{base_url}/api/v1/events", headers=headers) as response,
    ):
        assert response.status_code == 200
        opened.set()
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                seen.add(line.partition(":")[2].strip())
            if stop.is_set():
                return


async def new_key(database_url: str, tmp_path: Path) -> str:
    """A tenant and key written straight to the database (the CLI takes seconds to import)."""
    db = Database(make_settings(database_url, tmp_path))
    try:
        async with db.transaction() as session:
            tenant = f"tenant-{uuid.uuid4().hex[:10]}"
            await create_tenant(session, tenant)
            issued = await issue_key(
                session, tenant, scopes="prep,check", rate_prep=1000, rate_check=1000
            )
    finally:
        await db.dispose()
    return issued.raw_key


def start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "course_supporter", "worker"],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


async def test_an_event_from_the_worker_reaches_clients_of_both_api_processes(
    postgres_url: str, tmp_path: Path
) -> None:
    shared = {
        "DATABASE_URL": postgres_url,
        "STORAGE_DIR": str(tmp_path / "storage"),
        "EMBEDDED_WORKER": "false",
        "EVENTS_POLL_INTERVAL_SECONDS": "30",  # so only the NOTIFY wake-up can be fast
        "EVENTS_KEEPALIVE_SECONDS": "1",
        "JOB_POLL_INTERVAL_SECONDS": "0.3",
        "JOB_RELAY_INTERVAL_SECONDS": "0.2",
    }
    worker = start_worker({**os.environ, **shared}, tmp_path / "worker.log")
    with contextlib.ExitStack() as one, contextlib.ExitStack() as two:
        one.callback(stop_process, worker, timeout=15)
        # Started side by side: each takes tens of seconds to import on a busy machine.
        first, second = await asyncio.gather(
            asyncio.to_thread(one.enter_context, run_api_server(tmp_path / "api-1", **shared)),
            asyncio.to_thread(two.enter_context, run_api_server(tmp_path / "api-2", **shared)),
        )
        key = await new_key(postgres_url, tmp_path)
        other_key = await new_key(postgres_url, tmp_path)
        seen_first: set[str] = set()
        seen_second: set[str] = set()
        seen_other: set[str] = set()
        stop = asyncio.Event()
        opened = [asyncio.Event() for _ in range(3)]
        readers = [
            asyncio.create_task(collect_types(first.base_url, key, seen_first, stop, opened[0])),
            asyncio.create_task(collect_types(second.base_url, key, seen_second, stop, opened[1])),
            asyncio.create_task(
                collect_types(second.base_url, other_key, seen_other, stop, opened[2])
            ),
        ]
        await asyncio.wait_for(asyncio.gather(*(o.wait() for o in opened)), timeout=60)
        async with httpx.AsyncClient(base_url=first.base_url, timeout=30) as api:
            headers = {"X-API-Key": key}
            course = await api.post("/api/v1/courses", json={"title": "X"}, headers=headers)
            created = await api.post(
                f"/api/v1/courses/{course.json()['id']}/materials",
                data={"source_type": "text"},
                files={"file": ("notes.md", NOTES, "text/markdown")},
                headers=headers,
            )
            assert created.status_code == 201, created.text
        deadline = asyncio.get_running_loop().time() + 180
        while not (seen_first >= WANTED and seen_second >= WANTED):
            assert asyncio.get_running_loop().time() < deadline, (
                f"first saw {seen_first}, second saw {seen_second};\n"
                + (tmp_path / "worker.log").read_text()[-3000:]
            )
            await asyncio.sleep(0.2)
        assert "job.queued" in seen_second, "an API process's event reaches the other one"
        stop.set()
        for reader in readers:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await reader
        assert seen_other == set(), "another tenant's events never appear"
