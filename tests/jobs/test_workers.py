"""`course-supporter worker` processes on PostgreSQL: SIGKILL mid-job, two workers, SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from course_supporter.db import Database
from course_supporter.jobs.models import Job
from course_supporter.jobs.service import enqueue_job
from course_supporter.tenancy.service import create_tenant
from tests.conftest import make_settings, open_client
from tests.jobs.slow_jobs import BLOCK_FIRST_ATTEMPT, RECORD_RUN

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.postgres, pytest.mark.slow]


class Workers:
    """Starts worker processes against the test database and stops them at the end."""

    def __init__(self, database_url: str, tmp_path: Path) -> None:
        self.database_url = database_url
        self.tmp_path = tmp_path
        self.runs_log = tmp_path / "runs.jsonl"
        self.runs_log.touch()
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, concurrency: int = 2) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": self.database_url,
            "STORAGE_DIR": str(self.tmp_path / "storage"),
            "JOB_EXTRA_MODULES": "tests.jobs.slow_jobs",
            "TEST_JOB_RUNS_LOG": str(self.runs_log),
            "JOB_CONCURRENCY": str(concurrency),
            "JOB_RELAY_INTERVAL_SECONDS": "0.2",
            "JOB_POLL_INTERVAL_SECONDS": "0.5",
            "JOB_HEARTBEAT_SECONDS": "0.5",
            "JOB_STALLED_AFTER_SECONDS": "2",
            "JOB_STALLED_CHECK_SECONDS": "0.5",
            "JOB_SHUTDOWN_GRACE_SECONDS": "5",
            "LOG_LEVEL": "INFO",
        }
        output = open(self.tmp_path / f"worker-{len(self.processes)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "course_supporter", "worker"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def runs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.runs_log.read_text().splitlines() if line]

    def logs(self) -> str:
        return "\n".join(path.read_text() for path in sorted(self.tmp_path.glob("worker-*.log")))

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def workers(postgres_url: str, tmp_path: Path) -> Iterator[Workers]:
    started = Workers(postgres_url, tmp_path)
    yield started
    started.stop_all()


async def enqueue(database_url: str, tmp_path: Path, kind: str, count: int) -> list[uuid.UUID]:
    """Job rows as the API writes them: committed, not yet in the queue."""
    db = Database(make_settings(database_url, tmp_path))
    try:
        async with db.transaction() as session:
            tenant = await create_tenant(session, f"jobs-{uuid.uuid4().hex[:8]}")
            jobs = [enqueue_job(session, tenant.id, kind, uuid.uuid4()) for _ in range(count)]
            await session.commit()
            return [job.id for job in jobs]
    finally:
        await db.dispose()


async def job_rows(database_url: str, tmp_path: Path, ids: list[uuid.UUID]) -> list[Job]:
    db = Database(make_settings(database_url, tmp_path))
    try:
        async with db.sessions() as session:
            return list(await session.scalars(select(Job).where(Job.id.in_(ids))))
    finally:
        await db.dispose()


async def live_workers(database_url: str, tmp_path: Path) -> int:
    db = Database(make_settings(database_url, tmp_path))
    try:
        async with db.sessions() as session:
            count = await session.scalar(
                text(
                    "SELECT count(*) FROM procrastinate_workers"
                    " WHERE last_heartbeat > now() - interval '2 seconds'"
                )
            )
            return int(count or 0)
    finally:
        await db.dispose()


async def eventually(check: Any, what: str, timeout: float, workers: Workers) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}\n--- worker logs ---\n{workers.logs()}")
        await asyncio.sleep(0.2)


async def test_a_job_survives_its_worker_being_killed(
    postgres_url: str, tmp_path: Path, workers: Workers
) -> None:
    first = workers.start()
    (job_id,) = await enqueue(postgres_url, tmp_path, BLOCK_FIRST_ATTEMPT, 1)

    async def started() -> bool:
        return any(run["event"] == "start" for run in workers.runs())

    await eventually(started, "the first attempt to start", 60, workers)
    first.send_signal(signal.SIGKILL)
    first.wait()
    (row,) = await job_rows(postgres_url, tmp_path, [job_id])
    assert row.status == "running"

    second = workers.start()

    async def finished() -> Job | None:
        (row,) = await job_rows(postgres_url, tmp_path, [job_id])
        return row if row.status in {"succeeded", "failed"} else None

    row = await eventually(finished, "the job to finish on the new worker", 60, workers)
    assert row.status == "succeeded", row.error
    assert row.attempts == 2
    assert row.result == {"attempt": 2}
    runs = workers.runs()
    assert [(run["pid"], run["event"]) for run in runs] == [
        (first.pid, "start"),
        (second.pid, "start"),
        (second.pid, "end"),
    ]


async def test_two_workers_never_run_the_same_job(
    postgres_url: str, tmp_path: Path, workers: Workers
) -> None:
    pids = {workers.start(concurrency=3).pid, workers.start(concurrency=3).pid}

    async def both_up() -> bool:
        return await live_workers(postgres_url, tmp_path) >= 2

    await eventually(both_up, "two workers to register", 60, workers)
    job_ids = await enqueue(postgres_url, tmp_path, RECORD_RUN, 30)

    async def all_finished() -> bool:
        rows = await job_rows(postgres_url, tmp_path, job_ids)
        return all(row.status in {"succeeded", "failed"} for row in rows)

    await eventually(all_finished, "30 jobs to finish", 120, workers)
    rows = await job_rows(postgres_url, tmp_path, job_ids)
    assert {row.status for row in rows} == {"succeeded"}
    assert {row.attempts for row in rows} == {1}
    starts = Counter(run["job"] for run in workers.runs() if run["event"] == "start")
    assert starts == Counter({str(job_id): 1 for job_id in job_ids})
    assert {run["pid"] for run in workers.runs()} == pids, "both workers should have taken jobs"

    for process in workers.processes:
        process.send_signal(signal.SIGTERM)
    for process in workers.processes:
        assert process.wait(timeout=30) == 0
    assert await live_workers(postgres_url, tmp_path) == 0


async def test_health_sees_a_running_worker(
    workers: Workers, postgres_url: str, tmp_path: Path
) -> None:
    workers.start()
    await eventually(
        lambda: live_workers(postgres_url, tmp_path), "a worker heartbeat", 30, workers
    )
    async with open_client(make_settings(postgres_url, tmp_path)) as api:
        body = (await api.http.get("/health")).json()
        assert body["checks"]["queue"] == "ok"
        assert body["queue"]["worker_last_seen_seconds"] is not None
        assert body["queue"]["worker_last_seen_seconds"] < 5
