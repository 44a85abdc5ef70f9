"""Liveness, deep health, and surviving a database that drops its connections."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from course_supporter.db import async_database_url
from tests.conftest import ApiClient, make_settings, open_client


async def test_live_touches_nothing_and_health_checks_dependencies(client: ApiClient) -> None:
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
    async for api in open_client(settings):
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
    async for api in open_client(settings):
        # The key cannot be checked without the database: the client should retry, not give up.
        response = await api.http.get("/api/v1/me", headers={"X-API-Key": "cs_live_" + "a" * 32})
        assert response.status_code == 503
        assert response.json()["detail"] == "The database is unavailable; retry shortly"
        assert response.json()["request_id"]
        assert response.headers["Retry-After"] == "5"


async def test_pool_survives_postgres_dropping_connections(postgres_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    async for api in open_client(make_settings(postgres_url, tmp_path)):
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
