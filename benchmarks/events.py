"""What an event costs the transaction that records it: enqueue-and-commit of a job whose
kind records `job.queued` against one whose kind records none (webhook deliveries).

Both loops run in this process against the same migrated database, interleaved over rounds,
on SQLite (a temporary file) and, when --postgres-url answers, on a throwaway PostgreSQL
database. Prints commits/s of each and their ratio (with event / without).

    .venv/bin/python benchmarks/events.py [--commits 300] [--rounds 3]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from http_load import DEFAULT_POSTGRES_URL, postgres_database

from course_supporter.config import Settings
from course_supporter.db import Database
from course_supporter.events.service import WEBHOOK_JOB
from course_supporter.jobs.service import enqueue_job
from course_supporter.migrate import upgrade
from course_supporter.tenancy.service import create_tenant


async def commits_per_second(db: Database, tenant_id: uuid.UUID, kind: str, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        async with db.transaction() as session:
            enqueue_job(session, tenant_id, kind, uuid.uuid4())
    return count / (time.perf_counter() - started)


def bench(database_url: str, options: argparse.Namespace) -> tuple[float, float]:
    upgrade(database_url=database_url)
    return asyncio.run(_bench(database_url, options))


async def _bench(database_url: str, options: argparse.Namespace) -> tuple[float, float]:
    db = Database(Settings(database_url=database_url, _env_file=None))  # type: ignore[call-arg]
    try:
        async with db.transaction() as session:
            tenant = await create_tenant(session, f"bench-{uuid.uuid4().hex[:8]}")
        with_event, without = [], []
        for _ in range(options.rounds):
            without.append(await commits_per_second(db, tenant.id, WEBHOOK_JOB, options.commits))
            with_event.append(await commits_per_second(db, tenant.id, "bench_job", options.commits))
        return max(with_event), max(without)
    finally:
        await db.dispose()


def report(label: str, with_event: float, without: float) -> None:
    print(
        f"{label}: {without:,.0f} commits/s without an event, {with_event:,.0f} with one; "
        f"ratio {with_event / without:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commits", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cs_bench_") as workdir:
        report("sqlite", *bench(f"sqlite:///{Path(workdir) / 'b.db'}", options))
    try:
        with postgres_database(options.postgres_url) as url:
            report("postgres", *bench(url, options))
    except OSError as exc:
        print(f"postgres: skipped ({exc})")


if __name__ == "__main__":
    main()
