"""One attempt of one job: our row's states, the handler under a time cap, retry or fail."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import httpx
import structlog
from sqlalchemy.exc import InterfaceError, OperationalError

from course_supporter.config import Settings
from course_supporter.db import Database
from course_supporter.jobs import service
from course_supporter.jobs.registry import JobContext, JobKind, JobNotReady, find_job_kind
from course_supporter.storage import ObjectStorage, StorageUnavailable

log = structlog.get_logger(__name__)

# Failures of things outside us that usually pass: worth another attempt, not a stack trace.
TRANSIENT_ERRORS = (
    ConnectionError,
    TimeoutError,
    httpx.TransportError,
    StorageUnavailable,
    OperationalError,
    InterfaceError,
)


@dataclass(frozen=True)
class JobRuntime:
    """The services a worker process hands to every job."""

    db: Database
    storage: ObjectStorage
    settings: Settings


def retry_delay(settings: Settings, attempt: int) -> float:
    """Exponential backoff after failed attempt number `attempt` (1-based)."""
    return min(
        settings.job_retry_base_seconds * 2.0 ** min(attempt - 1, 30),
        settings.job_retry_max_seconds,
    )


async def execute_job(runtime: JobRuntime, job_id: uuid.UUID) -> float | None:
    """Run one attempt; return the seconds to wait before the next one, or None when finished."""
    attempt = await service.start_attempt(runtime.db, job_id)
    if attempt is None:
        log.info("job_already_finished", job_id=str(job_id))
        return None
    settings = runtime.settings
    ctx = JobContext(
        job_id=job_id,
        tenant_id=attempt.tenant_id,
        kind=attempt.kind,
        subject_id=attempt.subject_id,
        attempt=attempt.attempt,
        max_attempts=settings.job_max_attempts,
        params=attempt.params,
        db=runtime.db,
        storage=runtime.storage,
        settings=settings,
    )
    bound = log.bind(job_id=str(job_id), kind=ctx.kind, attempt=ctx.attempt)
    kind = find_job_kind(ctx.kind)
    if kind is None:
        await _give_up(ctx, None, f"No handler is registered for job kind {ctx.kind!r}")
        return None
    if ctx.attempt > ctx.max_attempts:
        # Earlier attempts never reported back: their worker died (killed, out of memory).
        await _give_up(
            ctx, kind, f"The job was interrupted {ctx.attempt - 1} times and is not retried again"
        )
        return None
    bound.info("job_started")
    timeout = asyncio.timeout(settings.job_timeout_seconds)
    try:
        async with timeout:
            result = await kind.handler(ctx)
    except JobNotReady as waiting:
        bound.info("job_deferred", reason=waiting.message, retry_in=waiting.delay)
        await service.defer(runtime.db, job_id, waiting.message)
        return waiting.delay
    except Exception as exc:
        if timeout.expired():
            message = f"The job took longer than {settings.job_timeout_seconds:g} s and was stopped"
            bound.warning("job_timed_out")
            await _give_up(ctx, kind, message)
            return None
        transient, message = _classify(exc, bound, job_id)
        if transient and not ctx.is_last_attempt:
            delay = retry_delay(settings, ctx.attempt)
            bound.warning("job_retry_scheduled", error=message, retry_in=delay)
            await service.schedule_retry(runtime.db, job_id, message)
            return delay
        await _give_up(ctx, kind, message)
        return None
    await service.finish_succeeded(runtime.db, job_id, result)
    bound.info("job_succeeded")
    return None


def _classify(
    exc: Exception, bound: structlog.typing.FilteringBoundLogger, job_id: uuid.UUID
) -> tuple[bool, str]:
    """(worth retrying, message for the client). An error with a `transient` flag decides itself."""
    flag = getattr(exc, "transient", None)
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    if isinstance(flag, bool):
        return flag, message
    if isinstance(exc, TRANSIENT_ERRORS):
        return True, f"Temporary failure ({type(exc).__name__}): {message}"
    bound.exception("job_crashed")
    return True, f"Unexpected error ({type(exc).__name__}); see the worker log for job {job_id}"


async def _give_up(ctx: JobContext, kind: JobKind | None, message: str) -> None:
    """Final failure: let the kind mark its subject, then fail the job row."""
    log.warning("job_failed", job_id=str(ctx.job_id), kind=ctx.kind, error=message)
    if kind is not None and kind.on_failure is not None:
        try:
            await kind.on_failure(ctx, message)
        except Exception:
            log.exception("job_failure_hook_crashed", job_id=str(ctx.job_id), kind=ctx.kind)
    await service.finish_failed(ctx.db, ctx.job_id, message)
