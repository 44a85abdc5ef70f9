"""Editing latency: median time of `PATCH .../lessons/{id}` (one lesson title) on the 10x5
course of benchmarks/read.py, beside `GET /health/live` measured the same way in the same run.

One uvicorn worker on a throwaway PostgreSQL database; one client sends the edits one after
another, each with the ETag the previous one returned, so every request really writes a new
version (rows, document and snapshot).

    .venv/bin/python benchmarks/authoring.py [--postgres-url URL] [--edits 200]

Target: median edit latency under 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from http_load import DEFAULT_POSTGRES_URL, LIVE, postgres_database, running_server
from read import seed_structure

TARGET_MS = 50.0


def _timed(
    client: httpx.Client, method: str, url: str, **kwargs: object
) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.request(method, url, **kwargs)  # type: ignore[arg-type]
    return (time.perf_counter() - started) * 1000, response


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres-url", default=os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    )
    parser.add_argument("--edits", type=int, default=200)
    options = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cs_authoring_"))
    try:
        with (
            postgres_database(options.postgres_url) as database_url,
            running_server(database_url, None, workdir) as (_server, port, key, _env),
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client,
        ):
            headers = {"X-API-Key": key}
            course_id = client.post("/api/v1/courses", json={"title": "Bench"}, headers=headers)
            course_id = course_id.json()["id"]
            tenant = client.get("/api/v1/me", headers=headers).json()["tenant_name"]
            asyncio.run(seed_structure(database_url, uuid.UUID(course_id), tenant))
            course = client.get(f"/api/v1/courses/{course_id}", headers=headers).json()
            lessons = [lesson for m in course["structure"]["modules"] for lesson in m["lessons"]]
            assert len(lessons) == 50
            etag = f'"{course["version"]}"'
            edit_ms: list[float] = []
            live_ms: list[float] = []
            for number in range(options.edits + 10):
                lesson = lessons[number % len(lessons)]
                elapsed, response = _timed(
                    client,
                    "PATCH",
                    f"/api/v1/courses/{course_id}/lessons/{lesson['id']}",
                    json={"title": f"Edited title {number}"},
                    headers={**headers, "If-Match": etag},
                )
                if response.status_code != 200:
                    raise RuntimeError(f"edit {number}: {response.status_code} {response.text}")
                etag = response.headers["ETag"]
                live, probe = _timed(client, "GET", LIVE)
                assert probe.status_code == 200
                if number >= 10:  # the first few warm the pools and caches up
                    edit_ms.append(elapsed)
                    live_ms.append(live)
            edit = statistics.median(edit_ms)
            health = statistics.median(live_ms)
            p90 = statistics.quantiles(edit_ms, n=10)[-1]
            print(f"{LIVE:<40} median {health:7.2f} ms")
            print(
                f"{'PATCH lesson title (10x5 course)':<40} median {edit:7.2f} ms  p90 {p90:.2f} ms"
            )
            print(f"versions written: {etag}; ratio edit/live {edit / health:.1f}")
            verdict = "ok" if edit < TARGET_MS else "above target"
            print(f"median edit {edit:.1f} ms (target < {TARGET_MS:.0f} ms: {verdict})")
            return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
