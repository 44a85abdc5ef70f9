"""Liveness, deep health, and surviving a database that drops its connections."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from course_supporter.db import async_database_url, is_database_unavailable
from course_supporter.jobs.models import Job
from course_supporter.jobs.service import enqueue_job
from course_supporter.tenancy.service import create_tenant
from tests.conftest import ApiClient, make_settings, open_client


async def test_live_touches_nothing_and_health_checks_dependencies(
    own_database_url: str, tmp_path: Path
) -> None:
    async with open_client(make_settings(own_database_url, tmp_path)) as client:
        await _check_live_and_health(client)


async def _check_live_and_health(client: ApiClient) -> None:
    live = await client.http.get("/health/live")
    assert live.json() == {"status": "ok"}
    health = await client.http.get("/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok"
    assert body["checks"]["db"] == "ok"


async def test_unreachable_database_is_503_degraded(tmp_path: Path) -> None:
    settings = make_settings(
        "postgresql://nobody@127.0.0.1:1/none", tmp_path, health_check_timeout_seconds=1.0
    )
    async with open_client(settings) as api:
        live = await api.http.get("/health/live")
        assert live.status_code == 200
        health = await api.http.get("/health")
        assert health.status_code == 503
        assert health.json()["status"] == "degraded"
        assert health.json()["checks"]["db"].startswith("error")


async def test_requests_get_503_not_500_while_the_database_is_unreachable(
    tmp_path: Path,
) -> None:
    settings = make_settings("postgresql://nobody@127.0.0.1:1/none", tmp_path)
    async with open_client(settings) as api:
        # The key cannot be checked without the database: the client should retry, not give up.
        response = await api.http.get("/api/v1/me", headers={"X-API-Key": "cs_live_" + "a" * 32})
        assert response.status_code == 503
        assert response.json()["detail"] == "The database is unavailable; retry shortly"
        assert response.json()["request_id"]
        assert response.headers["Retry-After"] == "5"


async def test_pool_survives_postgres_dropping_connections(
    own_postgres_url: str, tmp_path: Path
) -> None:
    postgres_url = own_postgres_url
    async with open_client(make_settings(postgres_url, tmp_path)) as api:
        headers = {"X-API-Key": await api.new_key()}
        assert (await api.http.get("/api/v1/courses", headers=headers)).status_code == 200
        created = await api.http.post("/api/v1/courses", json={"title": "t"}, headers=headers)
        course_url = f"/api/v1/courses/{created.json()['id']}"
        # The course read's pool is not pinged: a dropped connection is retried once.
        assert (await api.http.get(course_url, headers=headers)).status_code == 200
        admin = create_async_engine(async_database_url(postgres_url), isolation_level="AUTOCOMMIT")
        database = make_url(postgres_url).database
        async with admin.connect() as connection:
            killed = await connection.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": database},
            )
        await admin.dispose()
        assert killed >= 1
        after = await api.http.get("/api/v1/courses", headers=headers)
        assert after.status_code == 200
        assert (await api.http.get(course_url, headers=headers)).status_code == 200
        assert (await api.http.get("/health")).status_code == 200


@pytest.fixture
async def refusing_databases(postgres_url: str) -> AsyncIterator[dict[str, str]]:
    """A database with ALLOW_CONNECTIONS false, and a role allowed no connections at all."""
    admin = create_async_engine(async_database_url(postgres_url), isolation_level="AUTOCOMMIT")
    suffix = uuid.uuid4().hex[:8]
    closed, role = f"cs_test_closed_{suffix}", f"cs_test_full_{suffix}"
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{closed}"'))
        await connection.execute(text(f'ALTER DATABASE "{closed}" ALLOW_CONNECTIONS false'))
        await connection.execute(text(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 0'))
    base = make_url(postgres_url)
    yield {
        "not accepting connections (55000)": base.set(database=closed).render_as_string(False),
        "too many connections (53300)": base.set(username=role).render_as_string(False),
    }
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE "{closed}"'))
        await connection.execute(text(f'DROP ROLE "{role}"'))
    await admin.dispose()


@pytest.mark.postgres
async def test_a_database_refusing_connections_server_side_is_503(
    refusing_databases: dict[str, str], tmp_path: Path
) -> None:
    for case, url in refusing_databases.items():
        async with open_client(make_settings(url, tmp_path)) as api:
            response = await api.http.get(
                "/api/v1/me", headers={"X-API-Key": "cs_live_" + "a" * 32}
            )
            assert response.status_code == 503, case
            assert response.headers["Retry-After"] == "5", case


class _ServerError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "unavailable"),
    [
        ("08006", True),  # connection failure
        ("53300", True),  # too many connections
        ("57P01", True),  # admin shutdown
        ("57P03", True),  # the database system is starting up
        ("55000", True),  # ALLOW_CONNECTIONS false
        ("23505", False),  # unique violation: a bug or a conflict, never "retry later"
        ("42P01", False),  # undefined table
        ("22021", False),  # invalid byte sequence
    ],
)
def test_unavailability_is_classified_by_sqlstate_class(sqlstate: str, unavailable: bool) -> None:
    wrapped = DBAPIError("SELECT 1", {}, _ServerError(sqlstate))
    assert is_database_unavailable(wrapped) is unavailable


async def test_health_shows_the_embedded_worker_and_an_empty_queue(
    own_sqlite_url: str, tmp_path: Path
) -> None:
    settings = make_settings(own_sqlite_url, tmp_path, embedded_worker=True)
    async with open_client(settings) as api:
        body = (await api.http.get("/health")).json()
        assert body["checks"]["queue"] == "ok"
        assert body["queue"] == {
            "queued": 0,
            "oldest_queued_seconds": None,
            "worker_last_seen_seconds": 0.0,
        }


@pytest.mark.postgres
async def test_queued_jobs_with_no_worker_make_health_degraded(
    postgres_url: str, tmp_path: Path
) -> None:
    """`serve` on PostgreSQL with no `worker`: materials would stay pending for ever."""
    settings = make_settings(postgres_url, tmp_path, job_stalled_after_seconds=0.5)
    async with open_client(settings) as api:
        async with api.db.transaction() as session:
            tenant = await create_tenant(session, f"queue-{uuid.uuid4().hex[:8]}")
            job = enqueue_job(session, tenant.id, "ingest_material", uuid.uuid4())
            await session.commit()
        try:
            health = await api.http.get("/health")
            body = health.json()
            assert health.status_code == 503
            assert body["status"] == "degraded"
            assert "no job worker seen" in body["checks"]["queue"]
            assert "start `course-supporter worker`" in body["checks"]["queue"]
            assert body["queue"]["queued"] >= 1
            assert body["queue"]["oldest_queued_seconds"] >= 0
        finally:
            async with api.db.sessions() as session:
                await session.execute(delete(Job).where(Job.id == job.id))
                await session.commit()


async def test_a_failing_check_names_no_driver_detail(tmp_path: Path) -> None:
    """The cause is logged; an unauthenticated caller learns only that the database is down."""
    settings = make_settings(
        "postgresql://nobody@127.0.0.1:1/secret_db_name", tmp_path, health_check_timeout_seconds=1
    )
    async with open_client(settings) as api:
        body = (await api.http.get("/health")).json()
        assert body["checks"]["db"] == "error: unavailable"
        assert "secret_db_name" not in json.dumps(body)
        assert "127.0.0.1" not in json.dumps(body)
