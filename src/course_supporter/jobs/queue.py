"""The job queue: procrastinate, on PostgreSQL in production and in memory in the embedded default.

Why procrastinate: it keeps its queue in the PostgreSQL we already run, so there is no broker
to deploy, back up or watch; workers claim jobs with `SELECT … FOR UPDATE SKIP LOCKED`, so two
workers never take the same job; a job's `lock` keeps two runs of one job from overlapping;
a failed job is retried at the time a retry strategy picks (our exponential backoff); and
workers write heartbeats, so the jobs of a worker that died (SIGKILL, out of memory, lost host)
are found and handed out again.

Our `jobs` table stays the record clients poll. It is written in the same transaction as the
row a job works on (an outbox); `jobs.relay` hands queued rows to procrastinate with
`queueing_lock` and `lock` set to the job id, so handing one over twice is harmless.
Procrastinate carries a single task, `run_job(job_id)`; what a job does is looked up in
`jobs.registry` by the row's kind.

Embedded default (SQLite, no PostgreSQL): procrastinate's in-memory connector inside the API
process. It forgets everything on exit, which is why the relay puts every unfinished row back
into it at start-up: the durable state is our table, in both modes.

Housekeeping (the upload sweep, stalled-job recovery) runs as procrastinate periodic tasks on
a queue of its own, so a tick never waits behind hour-long jobs; each tick runs once across
all workers sharing the queue (procrastinate records the deferral per tick).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, cast

import procrastinate
import psycopg
import structlog
from procrastinate import exceptions as queue_errors
from procrastinate import jobs as queue_jobs
from procrastinate.schema import SchemaManager
from procrastinate.testing import InMemoryConnector
from sqlalchemy.engine import make_url

from course_supporter.config import Settings
from course_supporter.db import utcnow
from course_supporter.jobs.execution import JobRuntime, execute_job, retry_delay
from course_supporter.jobs.registry import PeriodicTask, periodic_tasks

log = structlog.get_logger(__name__)

RUN_JOB_TASK = "course_supporter.run_job"
JOBS_QUEUE = "default"
MAINTENANCE_QUEUE = "maintenance"
RECOVER_STALLED = "recover_stalled_jobs"
RUNTIME_KEY = "runtime"
# Serialises concurrent `db upgrade` runs while procrastinate's schema is installed.
_SCHEMA_LOCK_KEY = 0x636F_7572_7365


class RetryLater(Exception):
    """Raised to procrastinate when our row says: attempt again in `delay` seconds."""

    def __init__(self, delay: float) -> None:
        super().__init__(f"retry in {delay:g} s")
        self.delay = delay


class JobRetryPolicy(procrastinate.BaseRetryStrategy):
    """Retry when `execute_job` asks to; retry a run cut short by shutdown at once.

    Anything else escaped our own bookkeeping (the database unreachable while recording the
    outcome), so our row could not say what happened: back off, capped, and try again with no
    limit, or the row would stay unfinished with nothing left in the queue to finish it.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def get_retry_decision(
        self, *, exception: BaseException, job: queue_jobs.Job
    ) -> procrastinate.RetryDecision | None:
        if isinstance(exception, RetryLater):
            return _retry_in(exception.delay)
        if isinstance(exception, asyncio.CancelledError):
            return _retry_in(0)
        return _retry_in(retry_delay(self.settings, job.attempts + 1))


def _retry_in(seconds: float) -> procrastinate.RetryDecision:
    return procrastinate.RetryDecision(retry_at=utcnow() + timedelta(seconds=seconds))


class EmbeddedConnector(InMemoryConnector):
    """The in-memory connector, minus its test bookkeeping (every query and finished job's
    events are kept forever), so a long-running API process does not grow."""

    async def generic_execute(self, query: str, suffix: str, **arguments: Any) -> Any:
        query_name = self.reverse_queries[query]
        return await getattr(self, f"{query_name}_{suffix}")(**arguments)

    async def finish_job_run(self, job_id: int, status: str, delete_job: bool) -> None:
        await super().finish_job_run(job_id, status, delete_job)
        if delete_job:
            self.events.pop(job_id, None)


def is_durable(settings: Settings) -> bool:
    """PostgreSQL holds the queue; otherwise it lives in this process's memory."""
    return make_url(settings.database_url).get_backend_name() in {"postgresql", "postgres"}


def libpq_url(database_url: str) -> str:
    """DATABASE_URL without a SQLAlchemy driver suffix, as psycopg expects it."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def build_queue(settings: Settings) -> procrastinate.App:
    connector: procrastinate.BaseConnector
    if is_durable(settings):
        # Each running job, the LISTEN connection, heartbeats, the relay and recovery.
        connector = procrastinate.PsycopgConnector(
            conninfo=libpq_url(settings.database_url),
            min_size=1,
            max_size=settings.job_concurrency + 4,
        )
    else:
        connector = EmbeddedConnector()
    app = procrastinate.App(connector=connector)
    app.task(
        name=RUN_JOB_TASK, queue=JOBS_QUEUE, pass_context=True, retry=JobRetryPolicy(settings)
    )(_run_job)
    for periodic in periodic_tasks():
        _schedule(app, periodic.name, periodic.interval(settings), _run_periodic(periodic))
    if is_durable(settings):
        # In memory the queue dies with its only worker: nothing can be left stalled.
        _schedule(app, RECOVER_STALLED, settings.job_stalled_check_seconds, _recover_stalled)
    return app


def cron_every(seconds: float) -> str:
    """A cron schedule (seconds as procrastinate's 6th column) repeating evenly at most every
    `seconds`: cron counts within the minute, hour and day, so the interval is rounded down to
    a divisor of 60 s, of 60 min or of 24 h (at least 1 s, at most daily)."""
    whole = max(1, int(seconds))
    if whole < 60:
        return f"* * * * * */{_divisor_up_to(whole, 60)}"
    if whole < 3600:
        return f"*/{_divisor_up_to(whole // 60, 60)} * * * *"
    if whole < 86400:
        return f"0 */{_divisor_up_to(whole // 3600, 24)} * * *"
    return "0 0 * * *"


def _divisor_up_to(limit: int, whole: int) -> int:
    return max(d for d in range(1, limit + 1) if whole % d == 0)


PeriodicBody = Callable[[procrastinate.JobContext, int], Awaitable[None]]


def _schedule(app: procrastinate.App, name: str, seconds: float, body: PeriodicBody) -> None:
    # The queueing lock skips a tick while the previous one still waits to run.
    task = app.task(
        name=f"course_supporter.periodic.{name}",
        queue=MAINTENANCE_QUEUE,
        queueing_lock=name,
        pass_context=True,
    )(body)
    app.periodic(cron=cron_every(seconds), periodic_id=name)(task)


def _run_periodic(periodic: PeriodicTask) -> PeriodicBody:
    async def run(context: procrastinate.JobContext, timestamp: int) -> None:
        runtime = cast(JobRuntime, context.additional_context[RUNTIME_KEY])
        try:
            await periodic.handler(runtime.db, runtime.storage, runtime.settings)
        except Exception:
            # Storage down, say: the next tick retries; a failed queue row would only pile up.
            log.exception("periodic_task_failed", task=periodic.name)

    return run


async def _recover_stalled(context: procrastinate.JobContext, timestamp: int) -> None:
    runtime = cast(JobRuntime, context.additional_context[RUNTIME_KEY])
    try:
        recovered = await recover_stalled_jobs(context.app, runtime.settings)
    except Exception:
        log.exception("stalled_job_recovery_failed")
        return
    if recovered:
        log.warning("stalled_jobs_recovered", queue_job_ids=recovered)


async def _run_job(context: procrastinate.JobContext, job_id: str) -> None:
    runtime = cast(JobRuntime, context.additional_context[RUNTIME_KEY])
    delay = await execute_job(runtime, uuid.UUID(job_id))
    if delay is not None:
        raise RetryLater(delay)


async def hand_over(queue: procrastinate.App, job_id: uuid.UUID) -> bool:
    """Put a job row into the queue unless the queue already holds it; True when added."""
    key = str(job_id)
    for existing in await queue.job_manager.list_jobs_async(lock=key):
        if existing.status in {queue_jobs.Status.TODO.value, queue_jobs.Status.DOING.value}:
            return False
    task = queue.tasks[RUN_JOB_TASK]
    try:
        await task.configure(lock=key, queueing_lock=key).defer_async(job_id=key)
    except queue_errors.AlreadyEnqueued:
        return False
    return True


async def recover_stalled_jobs(queue: procrastinate.App, settings: Settings) -> list[int]:
    """Hand out again the jobs of workers whose heartbeat stopped; returns their queue ids."""
    stalled = await queue.job_manager.get_stalled_jobs(
        seconds_since_heartbeat=settings.job_stalled_after_seconds
    )
    recovered = []
    for job in stalled:
        try:
            await queue.job_manager.retry_job(job)
        except queue_errors.ConnectorException:
            continue  # another worker recovered it first
        assert job.id is not None
        recovered.append(job.id)
    return recovered


def ensure_queue_schema(database_url: str) -> bool:
    """Install procrastinate's tables and functions once; True when this call installed them."""
    with psycopg.connect(libpq_url(database_url)) as connection:
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_KEY,))
        row = connection.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
        if row is not None and row[0] is not None:
            return False
        connection.execute(SchemaManager.get_schema())
    return True
