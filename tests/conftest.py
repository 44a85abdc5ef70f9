"""Shared fixtures: a migrated database per run (SQLite always, PostgreSQL when configured),
the app over ASGI, and tenants with keys.

TEST_POSTGRES_URL / TEST_REDIS_URL enable the PostgreSQL and Redis tests; with
REQUIRE_SERVICES=1 (CI) a missing or unreachable service fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from course_supporter.app import create_app
from course_supporter.config import Settings
from course_supporter.db import Database, async_database_url
from course_supporter.migrate import upgrade
from course_supporter.tenancy import service
from tests.chat_server import ChatServer, running_chat_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("TEST_REDIS_URL")
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def service_missing(name: str, reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{name} is required (REQUIRE_SERVICES=1) but {reason}")
    pytest.skip(f"{name} not available: {reason}")


async def _create_postgres_database(admin_url: str, name: str) -> None:
    engine = create_async_engine(async_database_url(admin_url), isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()


async def _drop_postgres_database(admin_url: str, name: str) -> None:
    engine = create_async_engine(async_database_url(admin_url), isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test run, dropped afterwards."""
    if not POSTGRES_URL:
        service_missing("PostgreSQL", "TEST_POSTGRES_URL is not set")
    assert POSTGRES_URL is not None
    name = f"cs_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_create_postgres_database(POSTGRES_URL, name))
    except Exception as exc:
        service_missing("PostgreSQL", f"cannot create a database: {exc}")
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(database_url=url)
    yield url
    asyncio.run(_drop_postgres_database(POSTGRES_URL, name))


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    upgrade(database_url=url)
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    if not REDIS_URL:
        service_missing("Redis", "TEST_REDIS_URL is not set")
    assert REDIS_URL is not None
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        service_missing("Redis", f"cannot connect: {exc}")
    return REDIS_URL


@pytest.fixture
def own_postgres_url(postgres_url: str) -> Iterator[str]:
    """A migrated PostgreSQL database for this test alone: no other test's jobs or rows."""
    assert POSTGRES_URL is not None
    name = f"cs_test_own_{uuid.uuid4().hex[:12]}"
    asyncio.run(_create_postgres_database(POSTGRES_URL, name))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(database_url=url)
    yield url
    asyncio.run(_drop_postgres_database(POSTGRES_URL, name))


@pytest.fixture
def own_sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite database for this test alone."""
    url = f"sqlite:///{tmp_path / 'own.db'}"
    upgrade(database_url=url)
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def own_database_url(request: pytest.FixtureRequest) -> str:
    """A database of this test's own, once on SQLite and once on PostgreSQL."""
    return str(request.getfixturevalue(f"own_{request.param}_url"))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Runs a test once on SQLite and once on PostgreSQL."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


def make_settings(database_url: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "storage_dir": tmp_path / "storage",
        "redis_url": None,
        "api_key_cache_ttl_seconds": 0,
        "embedded_worker": False,
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@dataclass
class ApiClient:
    """An httpx client on the app, plus what the test needs to make tenants and keys."""

    http: httpx.AsyncClient
    settings: Settings
    db: Database

    async def new_key(
        self, scopes: str = "prep,check", *, tenant: str | None = None, **limits: int
    ) -> str:
        async with self.db.transaction() as session:
            if tenant is None:
                tenant = f"tenant-{uuid.uuid4().hex[:10]}"
                await service.create_tenant(session, tenant)
            issued = await service.issue_key(
                session,
                tenant,
                scopes=scopes,
                rate_prep=limits.get("rate_prep", 1000),
                rate_check=limits.get("rate_check", 1000),
            )
        return issued.raw_key


@asynccontextmanager
async def open_client(settings: Settings) -> AsyncIterator[ApiClient]:
    """`async with open_client(settings) as api:` the app over ASGI, lifespan included."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield ApiClient(http=http, settings=settings, db=app.state.db)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[ApiClient]:
    async with open_client(settings) as api:
        yield api


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    """A model provider over the real chat-completions wire, answering as its behaviours say."""
    with running_chat_server() as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium (Debian's) for a module's browser tests."""
    from tests.browser import chromium

    with chromium() as launched:
        yield launched
