"""Liveness and deep health: database, storage and (when configured) Redis, each with a timeout."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Literal

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from course_supporter.db import utcnow
from course_supporter.errors import DependencyUnavailableError
from course_supporter.jobs.service import QueueStatus

log = structlog.get_logger(__name__)
router = APIRouter(tags=["health"])

Check = Callable[[], Awaitable[None]]
QueueProbe = Callable[[], Awaitable[QueueStatus]]


class Queue(BaseModel):
    queued: int
    oldest_queued_seconds: float | None
    worker_last_seen_seconds: float | None


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    checks: dict[str, str]
    queue: Queue | None = None
    timestamp: datetime


class Live(BaseModel):
    status: Literal["ok"]


async def _run_check(name: str, check: Check, seconds: float) -> str:
    """ "ok" or a short error; the cause (driver messages, host names) goes to the log only."""
    try:
        async with asyncio.timeout(seconds):
            await check()
    except TimeoutError:
        return f"error: no answer within {seconds:g} s"
    except DependencyUnavailableError as exc:  # our own words, written to be shown
        return f"error: {exc.message}"
    except Exception as exc:
        log.warning("health_check_failed", check=name, error=str(exc)[:500])
        return "error: unavailable"
    return "ok"


async def _queue_check(
    probe: QueueProbe, seconds: float, worker_timeout: float
) -> tuple[str, Queue | None]:
    """The backlog, and "error" when jobs are queued but no worker has been seen within
    `worker_timeout`: they would wait for ever (`serve` on PostgreSQL with no `worker`)."""
    try:
        async with asyncio.timeout(seconds):
            status = await probe()
    except Exception as exc:
        log.warning("health_check_failed", check="queue", error=str(exc)[:500])
        return "error: unavailable", None
    queue = Queue(
        queued=status.queued,
        oldest_queued_seconds=status.oldest_queued_seconds,
        worker_last_seen_seconds=status.worker_last_seen_seconds,
    )
    seen = status.worker_last_seen_seconds
    if status.queued and (seen is None or seen > worker_timeout):
        return (
            f"error: {status.queued} jobs queued, the oldest for "
            f"{status.oldest_queued_seconds:g} s, and no job worker seen in the last "
            f"{worker_timeout:g} s; start `course-supporter worker`",
            queue,
        )
    return "ok", queue


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
async def health(request: Request) -> JSONResponse:
    """Deep check of every dependency and of the job queue; 503 with per-check results when
    one fails."""
    checks: dict[str, Check] = request.app.state.health_checks
    settings = request.app.state.settings
    timeout: float = settings.health_check_timeout_seconds
    *results, (queue_result, queue) = await asyncio.gather(
        *(_run_check(name, check, timeout) for name, check in checks.items()),
        _queue_check(request.app.state.queue_probe, timeout, settings.job_stalled_after_seconds),
    )
    by_name = {**dict(zip(checks, results, strict=True)), "queue": queue_result}
    healthy = all(result == "ok" for result in by_name.values())
    body = Health(
        status="ok" if healthy else "degraded", checks=by_name, queue=queue, timestamp=utcnow()
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if healthy else 503)


@router.get("/health/live", response_model=Live)
async def live() -> Live:
    """The process answers; touches no dependency."""
    return Live(status="ok")
