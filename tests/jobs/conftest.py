"""Helpers for job tests: an app with its embedded worker, and polling a job to its end."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.conftest import ApiClient, make_settings, open_client
from tests.support import new_course

__all__ = ["embedded_client", "new_course", "upload", "wait_for_job"]

FAST_JOBS: dict[str, object] = {
    "embedded_worker": True,
    "job_retry_base_seconds": 0.2,
    "job_retry_max_seconds": 1.0,
    "job_poll_interval_seconds": 0.2,
    "job_relay_interval_seconds": 0.1,
}


@asynccontextmanager
async def embedded_client(
    database_url: str, tmp_path: Path, **overrides: object
) -> AsyncIterator[ApiClient]:
    """The app over ASGI with the job worker running inside it, as in `make run`."""
    settings = make_settings(database_url, tmp_path, **{**FAST_JOBS, **overrides})
    async with open_client(settings) as client:
        yield client


async def wait_for_job(
    api: ApiClient, headers: dict[str, str], job_id: str, timeout: float = 30.0
) -> dict[str, Any]:
    """Poll GET /api/v1/jobs/{id} until the job succeeded or failed."""
    deadline = time.monotonic() + timeout
    while True:
        response = await api.http.get(f"/api/v1/jobs/{job_id}", headers=headers)
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        if job["status"] in {"succeeded", "failed"}:
            return job
        assert time.monotonic() < deadline, f"job still {job['status']} after {timeout} s: {job}"
        await asyncio.sleep(0.05)


async def upload(
    api: ApiClient,
    headers: dict[str, str],
    course_id: str,
    filename: str,
    content: bytes,
    source_type: str = "text",
    position: int | None = None,
) -> dict[str, Any]:
    fields = {"source_type": source_type}
    if position is not None:
        fields["position"] = str(position)
    response = await api.http.post(
        f"/api/v1/courses/{course_id}/materials",
        data=fields,
        files={"file": (filename, content, "application/octet-stream")},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
