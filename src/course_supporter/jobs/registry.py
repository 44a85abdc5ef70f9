"""Job kinds: each domain registers what a kind of job does, the worker looks it up by name."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from course_supporter.config import Settings
from course_supporter.db import Database
from course_supporter.storage import ObjectStorage

# Modules whose import registers the application's job kinds (they import this module, not
# the other way round, so `jobs` depends on no domain).
JOB_MODULES = (
    "course_supporter.ingestion.tasks",
    "course_supporter.materials.tasks",
    "course_supporter.structuring.tasks",
    "course_supporter.mentoring.tasks",
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

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts


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
