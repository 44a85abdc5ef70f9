"""Jobs in the embedded default: the API process runs them itself, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import update

from course_supporter.db import utcnow
from course_supporter.jobs.models import Job
from course_supporter.jobs.service import enqueue_job
from tests.conftest import make_settings, open_client
from tests.jobs.conftest import embedded_client, new_course, upload, wait_for_job
from tests.jobs.slow_jobs import BLOCK_FIRST_ATTEMPT
from tests.servers import serving, url_of

MARKDOWN = b"# Photosynthesis\n\nPlants turn light, water and carbon dioxide into sugar.\n"


async def test_uploaded_markdown_ends_done_with_its_document(
    database_url: str, tmp_path: Path
) -> None:
    async with embedded_client(database_url, tmp_path) as api:
        headers, course_id = await new_course(api)
        created = await upload(api, headers, course_id, "lecture.md", MARKDOWN)

        job = await wait_for_job(api, headers, created["job_id"])

        assert job["status"] == "succeeded", job
        assert job["attempts"] == 1
        assert job["result"]["chunks"] >= 2
        assert job["started_at"] and job["finished_at"]
        base = f"/api/v1/courses/{course_id}/materials/{created['id']}"
        material = (await api.http.get(base, headers=headers)).json()
        assert material["status"] == "done"
        assert material["error_message"] is None
        document = (await api.http.get(f"{base}/document", headers=headers)).json()
        texts = [chunk["text"] for chunk in document["document"]["chunks"]]
        assert "Photosynthesis" in texts[0]


async def test_corrupt_pdf_fails_at_once_and_the_worker_goes_on(
    database_url: str, tmp_path: Path
) -> None:
    async with embedded_client(database_url, tmp_path) as api:
        headers, course_id = await new_course(api)
        corrupt = await upload(
            api, headers, course_id, "slides.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 500,
            source_type="presentation",
        )  # fmt: skip
        good = await upload(api, headers, course_id, "notes.md", MARKDOWN)

        failed = await wait_for_job(api, headers, corrupt["job_id"])
        succeeded = await wait_for_job(api, headers, good["job_id"])

        assert failed["status"] == "failed"
        assert failed["attempts"] == 1
        assert "slides.pdf" in failed["error"]
        assert succeeded["status"] == "succeeded"
        material = (
            await api.http.get(
                f"/api/v1/courses/{course_id}/materials/{corrupt['id']}", headers=headers
            )
        ).json()
        assert material["status"] == "error"
        assert material["error_message"] == failed["error"]


class _FlakyPage(BaseHTTPRequestHandler):
    """Answers 503 to the first `failures` requests, then a real page."""

    failures = 2
    requests = 0

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        type(self).requests += 1
        if type(self).requests <= self.failures:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = (
            b"<html><head><title>Enzymes</title></head><body><article><h1>Enzymes</h1>"
            + b"<p>Enzymes speed up chemical reactions in living cells without being used up.</p>"
            * 5
            + b"</article></body></html>"
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def flaky_server() -> Iterator[str]:
    _FlakyPage.requests = 0
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), _FlakyPage)) as server:
        yield f"{url_of(server)}/enzymes"


async def test_a_web_page_answering_503_is_retried_until_it_loads(
    database_url: str, tmp_path: Path, flaky_server: str
) -> None:
    async with embedded_client(
        database_url, tmp_path, fetch_allowed_hosts=["127.0.0.1"], job_max_attempts=5
    ) as api:
        headers, course_id = await new_course(api)
        response = await api.http.post(
            f"/api/v1/courses/{course_id}/materials",
            json={"source_type": "web", "source_url": flaky_server},
            headers=headers,
        )
        assert response.status_code == 201, response.text

        job = await wait_for_job(api, headers, response.json()["job_id"])

        assert job["status"] == "succeeded", job
        assert job["attempts"] == 3
        assert _FlakyPage.requests == 3


async def test_a_transient_failure_on_the_last_attempt_fails_the_job(
    database_url: str, tmp_path: Path, flaky_server: str
) -> None:
    async with embedded_client(
        database_url, tmp_path, fetch_allowed_hosts=["127.0.0.1"], job_max_attempts=2
    ) as api:
        headers, course_id = await new_course(api)
        response = await api.http.post(
            f"/api/v1/courses/{course_id}/materials",
            json={"source_type": "web", "source_url": flaky_server},
            headers=headers,
        )

        job = await wait_for_job(api, headers, response.json()["job_id"])

        assert job["status"] == "failed"
        assert job["attempts"] == 2
        assert "503" in job["error"]
        material_id = response.json()["id"]
        material = (
            await api.http.get(
                f"/api/v1/courses/{course_id}/materials/{material_id}", headers=headers
            )
        ).json()
        assert material["status"] == "error"
        assert "503" in material["error_message"]


async def test_jobs_left_unfinished_by_a_dead_process_complete_after_restart(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = make_settings(sqlite_url, tmp_path)  # no worker: the process "dies" before running
    async with open_client(settings) as api:
        headers, course_id = await new_course(api)
        queued = await upload(api, headers, course_id, "a.md", MARKDOWN)
        interrupted = await upload(api, headers, course_id, "b.md", MARKDOWN)
        async with api.db.sessions() as session:
            # Both were in the dead process's in-memory queue; one was mid-run.
            await session.execute(update(Job).values(dispatched_at=utcnow()))
            await session.execute(
                update(Job)
                .where(Job.id == uuid.UUID(interrupted["job_id"]))
                .values(status="running", attempts=1, started_at=utcnow())
            )
            await session.commit()

    async with embedded_client(sqlite_url, tmp_path) as api:
        first = await wait_for_job(api, headers, queued["job_id"])
        second = await wait_for_job(api, headers, interrupted["job_id"])

        assert (first["status"], first["attempts"]) == ("succeeded", 1)
        assert (second["status"], second["attempts"]) == ("succeeded", 2)


async def test_a_job_over_its_time_cap_fails_with_a_clear_error(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_JOB_RUNS_LOG", str(tmp_path / "runs.jsonl"))
    async with embedded_client(
        database_url,
        tmp_path,
        job_extra_modules=["tests.jobs.slow_jobs"],
        job_timeout_seconds=0.5,
    ) as api:
        headers = {"X-API-Key": await api.new_key()}
        async with api.db.sessions() as session:
            me = (await api.http.get("/api/v1/me", headers=headers)).json()
            job = enqueue_job(
                session, uuid.UUID(me["tenant_id"]), BLOCK_FIRST_ATTEMPT, uuid.uuid4()
            )
            await session.commit()

        result = await wait_for_job(api, headers, str(job.id))

        assert result["status"] == "failed"
        assert result["attempts"] == 1
        assert result["error"] == "The job took longer than 0.5 s and was stopped"
