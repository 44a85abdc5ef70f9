"""Liveness and deep health: database, storage and (when configured) Redis, each with a timeout."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from course_supporter.db import utcnow

router = APIRouter(tags=["health"])

Check = Callable[[], Awaitable[None]]


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    checks: dict[str, str]
    timestamp: datetime


class Live(BaseModel):
    status: Literal["ok"]


async def _run_check(check: Check, seconds: float) -> str:
    try:
        async with asyncio.timeout(seconds):
            await check()
    except TimeoutError:
        return f"error: no answer within {seconds:g} s"
    except Exception as exc:
        message = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return f"error: {message}"
    return "ok"


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
async def health(request: Request) -> JSONResponse:
    """Deep check of every dependency; 503 with per-check results when one fails."""
    checks: dict[str, Check] = request.app.state.health_checks
    timeout: float = request.app.state.settings.health_check_timeout_seconds
    results = await asyncio.gather(*(_run_check(check, timeout) for check in checks.values()))
    by_name = dict(zip(checks, results, strict=True))
    healthy = all(result == "ok" for result in results)
    body = Health(status="ok" if healthy else "degraded", checks=by_name, timestamp=utcnow())
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if healthy else 503)


@router.get("/health/live", response_model=Live)
async def live() -> Live:
    """The process answers; touches no dependency."""
    return Live(status="ok")
