"""One transaction boundary: services flush, whoever opened the session commits once or rolls
back once — a request, a job, a CLI command — and a failure after the first write leaves
nothing."""

from __future__ import annotations

import ast
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import typer
from fastapi import FastAPI, status
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from course_supporter import cli_support
from course_supporter.app import create_app
from course_supporter.authoring.models import StructureVersion, VersionKind
from course_supporter.config import Settings, get_settings
from course_supporter.courses import service as courses
from course_supporter.courses.models import Course, Module
from course_supporter.courses.schemas import CourseCreate
from course_supporter.dependencies import SessionDep
from course_supporter.errors import ConflictError
from course_supporter.tenancy import service as tenancy
from course_supporter.tenancy.auth import PrepTenant
from course_supporter.tenancy.models import Tenant
from tests.conftest import ApiClient
from tests.jobs.conftest import embedded_client, wait_for_job
from tests.support import new_course

SOURCE = Path(__file__).resolve().parents[1] / "src" / "course_supporter"
# The boundary itself: `commit_or_rollback`, used by `Database.transaction()` (CLI commands,
# job steps, background work) and by the request's `SessionDep`.
MAY_COMMIT = {SOURCE / "db.py"}

# A row that breaks a deferred constraint: accepted when written, refused by the COMMIT
# (both databases check DEFERRABLE INITIALLY DEFERRED foreign keys at commit time).
BREAK_AT_COMMIT = (
    "CREATE TEMP TABLE IF NOT EXISTS commit_check_parent (id INTEGER PRIMARY KEY)",
    "CREATE TEMP TABLE IF NOT EXISTS commit_check_child (parent INTEGER REFERENCES "
    "commit_check_parent (id) DEFERRABLE INITIALLY DEFERRED)",
    "INSERT INTO commit_check_child (parent) VALUES (1)",
)


async def break_the_commit(session: AsyncSession) -> None:
    for statement in BREAK_AT_COMMIT:
        await session.execute(text(statement))


def test_only_the_boundary_commits() -> None:
    """A service that commits would split its caller's transaction: no module but db.py calls
    `.commit()`."""
    offenders = []
    for path in sorted(SOURCE.rglob("*.py")):
        if path in MAY_COMMIT:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "commit":
                offenders.append(f"{path.relative_to(SOURCE)}:{node.lineno}")
    assert offenders == [], "commit through db.transaction() or SessionDep instead"


async def _courses_of(api: ApiClient, headers: dict[str, str]) -> list[str]:
    listing = await api.http.get("/api/v1/courses", headers=headers)
    assert listing.status_code == 200
    return [item["title"] for item in listing.json()["items"]]


@pytest.fixture
async def failing_commit_api(settings: Settings) -> AsyncIterator[ApiClient]:
    """The app with one more endpoint: it creates a course through the service, then writes a
    row its commit refuses."""
    app: FastAPI = create_app(settings)

    @app.post("/test/commit-fails", status_code=status.HTTP_201_CREATED)
    async def create_then_fail_at_commit(
        tenant: PrepTenant, session: SessionDep, fail: str = "commit"
    ) -> dict[str, str]:
        course = await courses.create_course(
            session, tenant.tenant_id, CourseCreate(title="Never stored")
        )
        if fail == "commit":
            await break_the_commit(session)
        elif fail == "raise":
            raise ConflictError("refused after the first write")
        return {"id": str(course.id)}

    async with app.router.lifespan_context(app):
        # The app's own 500, not the exception: the client sees what a real one would.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield ApiClient(http=http, settings=settings, db=app.state.db)


async def test_a_request_whose_commit_fails_is_an_error_and_stores_nothing(
    failing_commit_api: ApiClient,
) -> None:
    """The session commits before the response is sent: a client never sees 201 for a write
    that did not commit."""
    api = failing_commit_api
    headers = {"X-API-Key": await api.new_key()}
    response = await api.http.post("/test/commit-fails", headers=headers)
    assert response.status_code == 500, response.text
    assert await _courses_of(api, headers) == []

    stored = await api.http.post("/test/commit-fails?fail=no", headers=headers)
    assert stored.status_code == 201, stored.text
    assert await _courses_of(api, headers) == ["Never stored"]


async def test_a_request_failing_after_its_first_write_stores_nothing(
    failing_commit_api: ApiClient,
) -> None:
    """The endpoint's error after the course was written (and flushed): the answer is that
    error, and the course is not stored."""
    api = failing_commit_api
    headers = {"X-API-Key": await api.new_key()}
    response = await api.http.post("/test/commit-fails?fail=raise", headers=headers)
    assert response.status_code == 409, response.text
    assert response.json()["detail"] == "refused after the first write"
    assert await _courses_of(api, headers) == []


async def test_a_job_failing_after_its_first_write_leaves_nothing(
    database_url: str, tmp_path: Path
) -> None:
    """The structure job's last transaction writes the modules, then the version: a version
    number already taken refuses the version, and the modules written before it go too."""
    async with embedded_client(database_url, tmp_path, job_max_attempts=1) as api:
        headers, course_id = await new_course(api)
        material = await api.http.post(
            f"/api/v1/courses/{course_id}/materials",
            files={"file": ("notes.md", b"# Notes\n\n## Recursion\n\nA function calls itself.\n")},
            data={"source_type": "text"},
            headers=headers,
        )
        assert material.status_code == 201, material.text
        ingested = await wait_for_job(api, headers, material.json()["job_id"])
        assert ingested["status"] == "succeeded", ingested
        async with api.db.transaction() as session:
            # Version 1 taken by a row the course's structure record does not know of.
            session.add(
                StructureVersion(
                    course_id=uuid.UUID(course_id),
                    number=1,
                    kind=VersionKind.GENERATED,
                    fingerprints={},
                    document_json="{}",
                )
            )
        accepted = await api.http.post(
            f"/api/v1/courses/{course_id}/structure", json={"strategy": "default"}, headers=headers
        )
        assert accepted.status_code == 202, accepted.text
        job = await wait_for_job(api, headers, accepted.json()["job_id"])
        assert job["status"] == "failed", job
        async with api.db.sessions() as session:
            modules = await session.scalar(
                select(func.count()).where(Module.course_id == uuid.UUID(course_id))
            )
        assert modules == 0
        course = await api.http.get(f"/api/v1/courses/{course_id}", headers=headers)
        assert course.json()["structure"] is None


def test_a_cli_command_failing_after_its_first_write_stores_nothing(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`with_session` is every command's boundary: a command whose work raises after writing
    leaves the database as it was, and says so in one line with exit 1."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    tenant = f"cli-{uuid.uuid4().hex[:8]}"

    async def create_then_fail(session: AsyncSession) -> None:
        created = await tenancy.create_tenant(session, tenant)
        await courses.create_course(session, created.id, CourseCreate(title="Half"))
        raise ConflictError("the command failed after its first write")

    try:
        with pytest.raises(typer.Exit) as exited:
            cli_support.with_session(create_then_fail)
        assert exited.value.exit_code == 1

        async def count(session: AsyncSession) -> tuple[int, int]:
            tenants = await session.scalar(select(func.count()).where(Tenant.name == tenant))
            titles = await session.scalar(select(func.count()).where(Course.title == "Half"))
            return int(tenants or 0), int(titles or 0)

        assert cli_support.with_session(count) == (0, 0)
    finally:
        get_settings.cache_clear()
