"""A job worker: procrastinate's worker loops (jobs, housekeeping) and the outbox relay."""

from __future__ import annotations

import asyncio
import os
import socket

import structlog

from course_supporter.config import Settings
from course_supporter.db import Database
from course_supporter.jobs.execution import JobRuntime
from course_supporter.jobs.queue import (
    JOBS_QUEUE,
    MAINTENANCE_QUEUE,
    RUNTIME_KEY,
    build_queue,
    is_durable,
)
from course_supporter.jobs.registry import load_job_kinds
from course_supporter.jobs.relay import redispatch_unfinished, relay_queued_jobs
from course_supporter.storage import ObjectStorage

log = structlog.get_logger(__name__)


class JobWorker:
    """Runs jobs until cancelled; cancelling lets running jobs finish within the grace period."""

    def __init__(self, settings: Settings, db: Database, storage: ObjectStorage) -> None:
        self.settings = settings
        self.runtime = JobRuntime(db=db, storage=storage, settings=settings)
        load_job_kinds(settings)  # before the queue is built: domains register periodic tasks
        self.queue = build_queue(settings)
        self.durable = is_durable(settings)
        self.name = f"{socket.gethostname()}-{os.getpid()}"

    def start(self) -> asyncio.Task[None]:
        """Run in the background of this event loop (the embedded worker); cancel to stop."""
        task = asyncio.create_task(self.run(), name="job worker")
        task.add_done_callback(_log_exit)
        return task

    async def run(self) -> None:
        settings = self.settings
        async with self.queue.open_async():
            if not self.durable:
                count = await redispatch_unfinished(self.runtime.db, self.queue)
                log.info("jobs_redispatched", count=count)
            log.info("job_worker_started", name=self.name, durable=self.durable)
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._relay_forever())
                tasks.create_task(self._work(JOBS_QUEUE, settings.job_concurrency))
                # Housekeeping has its own slot: a sweep never waits behind hour-long jobs.
                tasks.create_task(self._work(MAINTENANCE_QUEUE, 1))

    async def _work(self, queue: str, concurrency: int) -> None:
        settings = self.settings
        await self.queue.run_worker_async(
            name=f"{self.name}-{queue}",
            queues=[queue],
            concurrency=concurrency,
            fetch_job_polling_interval=settings.job_poll_interval_seconds,
            abort_job_polling_interval=settings.job_poll_interval_seconds,
            shutdown_graceful_timeout=settings.job_shutdown_grace_seconds,
            update_heartbeat_interval=settings.job_heartbeat_seconds,
            stalled_worker_timeout=settings.job_stalled_after_seconds,
            # Our table is the record; the queue keeps only failures for inspection.
            delete_jobs="successful" if self.durable else "always",
            additional_context={RUNTIME_KEY: self.runtime},
            install_signal_handlers=False,
        )

    async def _relay_forever(self) -> None:
        while True:
            try:
                while await relay_queued_jobs(self.runtime.db, self.queue):
                    pass
            except Exception:
                log.exception("job_relay_failed")
            await asyncio.sleep(self.settings.job_relay_interval_seconds)


def _log_exit(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("job_worker_crashed", exc_info=task.exception())
