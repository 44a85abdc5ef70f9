"""Job kinds: each domain registers what a kind of job does, the worker looks it up by name."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from course_supporter.config import Settings
from course_supporter.db import Database
from course_supporter.storage import ObjectStorage

log = structlog.get_logger(__name__)

# Modules whose import registers the application's job kinds (they import this module, not
# the other way round, so `jobs` depends on no domain).
JOB_MODULES = (
    "course_supporter.ingestion.tasks",
    "course_supporter.materials.tasks",
    "course_supporter.structuring.tasks",
    "course_supporter.mentoring.tasks",
    "course_supporter.events.tasks",
)


@dataclass(frozen=True)
class JobContext:
    """What a handler gets: the job's identity, this attempt's number and the process's services."""

    job_id: uuid.UUID
    tenant_id: uuid.UUID
    kind: str
    subject_id: uuid.UUID
    attempt: int
    max_attempts: int
    params: dict[str, Any]
    db: Database
    storage: ObjectStorage
    settings: Settings

    _last_progress_at: list[float] = field(default_factory=list, repr=False, compare=False)

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts

    async def report_progress(
        self, done: int, total: int | None, phase: str, *, force: bool = False
    ) -> None:
        """Store {done, total, phase} on the job (and tell listeners), at most once per
        JOB_PROGRESS_INTERVAL_SECONDS unless `force`; a failed write never fails the job."""
        from course_supporter.jobs.service import record_progress

        now = time.monotonic()
        interval = self.settings.job_progress_interval_seconds
        if not force and self._last_progress_at and now - self._last_progress_at[0] < interval:
            return
        self._last_progress_at[:] = [now]
        try:
            await record_progress(
                self.db, self.job_id, {"done": done, "total": total, "phase": phase}
            )
        except Exception:
            log.warning("job_progress_not_recorded", job_id=str(self.job_id), exc_info=True)

    @contextlib.asynccontextmanager
    async def relay_progress(self) -> AsyncIterator[ProgressReport]:
        """A `report(done, total, phase)` callable from any thread (a parser's, a child
        process's reader) while the block runs: the latest report is stored through
        `report_progress`, at most once per JOB_PROGRESS_INTERVAL_SECONDS and never holding up
        the caller. Leaving the block waits for a write in flight, so none lands after it."""
        relay = _ProgressRelay(self, asyncio.get_running_loop())
        forwarding = asyncio.ensure_future(relay.forward())
        try:
            yield relay.report
        finally:
            await relay.close(forwarding)


ProgressReport = Callable[[int, int | None, str], None]


class _ProgressRelay:
    def __init__(self, ctx: JobContext, loop: asyncio.AbstractEventLoop) -> None:
        self._ctx = ctx
        self._loop = loop
        self._interval = ctx.settings.job_progress_interval_seconds
        self._latest: tuple[int, int | None, str] | None = None
        self._written: tuple[int, int | None, str] | None = None
        self._written_at: float | None = None
        self._ready = asyncio.Event()
        self._writing: asyncio.Future[None] | None = None
        self._closed = False

    def report(self, done: int, total: int | None, phase: str) -> None:
        if self._closed:
            return
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody to tell
            self._loop.call_soon_threadsafe(self._offer, (done, total, phase))

    def _offer(self, value: tuple[int, int | None, str]) -> None:
        if not self._closed:
            self._latest = value
            self._ready.set()

    def _write(self) -> asyncio.Future[None]:
        assert self._latest is not None
        self._written, self._written_at = self._latest, time.monotonic()
        done, total, phase = self._latest
        self._writing = asyncio.ensure_future(
            self._ctx.report_progress(done, total, phase, force=True)
        )
        return self._writing

    async def forward(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            await asyncio.shield(self._write())
            # Whatever arrives meanwhile waits, and only the latest of it is written.
            await asyncio.sleep(self._interval)

    async def close(self, forwarding: asyncio.Future[None]) -> None:
        self._closed = True
        forwarding.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await forwarding
        if self._writing is not None:
            await asyncio.shield(self._writing)
        # A report the forwarder had no turn to write (a parse quicker than one loop turn)
        # is written now, unless one was written less than an interval ago.
        due = self._written_at is None or time.monotonic() - self._written_at >= self._interval
        if self._latest is not None and self._latest != self._written and due:
            await asyncio.shield(self._write())


JobHandler = Callable[[JobContext], Awaitable[dict[str, Any] | None]]
FailureHook = Callable[[JobContext, str], Awaitable[None]]


class JobNotReady(Exception):
    """The job's inputs are not ready yet: run it again in `delay` seconds, no attempt spent."""

    def __init__(self, message: str, delay: float) -> None:
        super().__init__(message)
        self.message = message
        self.delay = delay


class PermanentJobError(Exception):
    """Retrying cannot help (bad input, missing subject): the job fails at once with `message`."""

    transient = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: JobHandler
    # Called once when the job has failed for good, e.g. to put its subject into an error state.
    on_failure: FailureHook | None = None


_KINDS: dict[str, JobKind] = {}


def register_job_kind(
    name: str, *, on_failure: FailureHook | None = None
) -> Callable[[JobHandler], JobHandler]:
    """Decorator: `handler` runs every job of kind `name`."""

    def register(handler: JobHandler) -> JobHandler:
        existing = _KINDS.get(name)
        if existing is not None and existing.handler is not handler:
            raise ValueError(f"job kind {name!r} is already registered")
        _KINDS[name] = JobKind(name=name, handler=handler, on_failure=on_failure)
        return handler

    return register


@dataclass(frozen=True)
class JobChange:
    """A job moved to `status` (or reported progress while running), seen inside the
    transaction that wrote it."""

    job_id: uuid.UUID
    tenant_id: uuid.UUID
    kind: str
    subject_id: uuid.UUID
    status: str
    attempt: int
    progress: dict[str, Any] | None = None
    error: str | None = None
    result: dict[str, Any] | None = None


JobListener = Callable[[AsyncSession, JobChange], None]
"""Called in the session that changes the job, before it commits (e.g. to record an event)."""

_LISTENERS: list[JobListener] = []


def register_job_listener(listener: JobListener) -> None:
    """`listener` hears of every job change in this process (registering twice is harmless)."""
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def notify_job_change(session: AsyncSession, change: JobChange) -> None:
    for listener in _LISTENERS:
        listener(session, change)


PeriodicHandler = Callable[[Database, ObjectStorage, Settings], Awaitable[None]]


@dataclass(frozen=True)
class PeriodicTask:
    """Housekeeping every worker schedules: `handler` runs once per `interval(settings)` seconds
    across all workers (procrastinate's periodic tasks)."""

    name: str
    handler: PeriodicHandler
    interval: Callable[[Settings], float]


_PERIODIC: dict[str, PeriodicTask] = {}


def register_periodic_task(
    name: str, *, interval: Callable[[Settings], float]
) -> Callable[[PeriodicHandler], PeriodicHandler]:
    """Decorator: `handler` runs every `interval(settings)` seconds in some worker."""

    def register(handler: PeriodicHandler) -> PeriodicHandler:
        existing = _PERIODIC.get(name)
        if existing is not None and existing.handler is not handler:
            raise ValueError(f"periodic task {name!r} is already registered")
        _PERIODIC[name] = PeriodicTask(name=name, handler=handler, interval=interval)
        return handler

    return register


def periodic_tasks() -> list[PeriodicTask]:
    return list(_PERIODIC.values())


def find_job_kind(name: str) -> JobKind | None:
    return _KINDS.get(name)


def load_job_kinds(settings: Settings) -> None:
    """Import every module that registers job kinds, plus `JOB_EXTRA_MODULES`."""
    for module in (*JOB_MODULES, *settings.job_extra_modules):
        importlib.import_module(module)
