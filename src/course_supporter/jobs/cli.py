"""`course-supporter worker`: a job worker process; SIGTERM or Ctrl+C stops it gracefully."""

from __future__ import annotations

import contextlib
import signal
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from course_supporter.config import Settings


def worker(
    concurrency: Annotated[
        int | None, typer.Option(min=1, help="Jobs run at once (default JOB_CONCURRENCY).")
    ] = None,
) -> None:
    """Run jobs from the queue until SIGTERM; running jobs get JOB_SHUTDOWN_GRACE_SECONDS."""
    import asyncio

    from course_supporter.config import get_settings
    from course_supporter.logging import configure_logging

    settings = get_settings()
    if concurrency is not None:
        settings = settings.model_copy(update={"job_concurrency": concurrency})
    configure_logging(settings)
    asyncio.run(run_worker(settings))


async def run_worker(settings: Settings) -> None:
    import asyncio

    from course_supporter.db import Database
    from course_supporter.jobs.worker import JobWorker
    from course_supporter.storage import build_storage

    db = Database(settings)
    storage = build_storage(settings)
    try:
        await storage.ensure_bucket()
        running = asyncio.create_task(JobWorker(settings, db, storage).run())
        loop = asyncio.get_running_loop()
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(stop_signal, running.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await running
    finally:
        await storage.close()
        await db.dispose()
