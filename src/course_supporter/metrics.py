"""Prometheus metrics: requests by route and status, jobs by state, model cost.

With several uvicorn workers set PROMETHEUS_MULTIPROC_DIR to an empty directory so every
worker's counters are summed at scrape time.
"""

from __future__ import annotations

import hmac
import os

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from course_supporter.db import Database
from course_supporter.jobs.models import Job
from course_supporter.llm.models import LLMCall

REQUESTS = Counter(
    "course_supporter_http_requests_total", "HTTP requests", ["method", "route", "status"]
)
LATENCY = Histogram(
    "course_supporter_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120),
)

router = APIRouter(include_in_schema=False)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


async def _database_gauges(db: Database) -> bytes:
    """Jobs by state and model cost, read from the database at scrape time."""
    registry = CollectorRegistry()
    async with db.sessions() as session:
        job_rows = (
            await session.execute(select(Job.status, func.count()).group_by(Job.status))
        ).all()
        cost_rows = (
            await session.execute(
                select(LLMCall.provider, LLMCall.model_id, func.sum(LLMCall.cost_usd)).group_by(
                    LLMCall.provider, LLMCall.model_id
                )
            )
        ).all()
    jobs = GaugeMetricFamily("course_supporter_jobs", "Jobs by state", labels=["state"])
    for state, count in job_rows:
        jobs.add_metric([state], count)
    cost = GaugeMetricFamily(
        "course_supporter_llm_cost_usd", "Model cost logged so far", labels=["provider", "model"]
    )
    for provider, model, total in cost_rows:
        cost.add_metric([provider, model], float(total or 0))

    class _Snapshot:
        def collect(self) -> list[GaugeMetricFamily]:
            return [jobs, cost]

    registry.register(_Snapshot())
    return generate_latest(registry)


def _may_read_metrics(request: Request) -> bool:
    """A bearer token when one is set; no token means open in development, closed in production
    (nginx denies /metrics too, but the app must not rely on the proxy alone)."""
    settings = request.app.state.settings
    if settings.metrics_token is None:
        return not settings.is_production
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    expected = settings.metrics_token.encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Prometheus text format, for the token holder only; kept off the public site by nginx."""
    if not _may_read_metrics(request):
        return Response(status_code=404)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        process_metrics = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY

        process_metrics = generate_latest(REGISTRY)
    body = process_metrics + await _database_gauges(request.app.state.db)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
