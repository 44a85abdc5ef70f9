"""Migrations produce exactly the ORM's schema, on SQLite and on PostgreSQL (procrastinate's
own objects, installed next to ours by `db upgrade`, are left out by name)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine

from course_supporter.db import async_database_url
from course_supporter.migrate import downgrade, is_ours, upgrade
from course_supporter.tables import Base


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": is_ours}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_async_engine(async_database_url(database_url))
    async with engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    await engine.dispose()
    assert differences == []


async def _run(url: str, sql: str, params: dict[str, object] | None = None) -> list[Any]:
    engine = create_async_engine(async_database_url(url))
    async with engine.begin() as connection:
        result = await connection.execute(text(sql), params or {})
        rows = list(result) if result.returns_rows else []
    await engine.dispose()
    return rows


async def test_authoring_round_trip_keeps_a_structure_as_its_first_version(
    own_database_url: str,
) -> None:
    url = own_database_url
    await asyncio.to_thread(downgrade, "0007", url)
    tenant, course = uuid.uuid4(), uuid.uuid4()
    is_sqlite = url.startswith("sqlite")
    tenant_id, course_id = (tenant.hex, course.hex) if is_sqlite else (tenant, course)
    now = datetime.now(UTC).replace(tzinfo=None) if is_sqlite else datetime.now(UTC)
    await _run(
        url,
        "INSERT INTO tenants (id, name, is_active, created_at, updated_at)"
        " VALUES (:id, 'migr', true, :now, :now)",
        {"id": tenant_id, "now": now},
    )
    await _run(
        url,
        "INSERT INTO courses (id, tenant_id, title, expected_knowledge, expected_skills,"
        " created_at, updated_at) VALUES (:id, :tenant, 'c', '[]', '[]', :now, :now)",
        {"id": course_id, "tenant": tenant_id, "now": now},
    )
    await _run(
        url,
        "INSERT INTO course_structures (course_id, version, document_json, generated_at)"
        " VALUES (:id, 3, :document, :now)",
        {"id": course_id, "document": '{"version":3}', "now": now},
    )
    await asyncio.to_thread(upgrade, "head", url)
    rows = await _run(url, "SELECT number, kind, document_json FROM structure_versions")
    assert [tuple(row) for row in rows] == [(3, "generated", '{"version":3}')]
    await asyncio.to_thread(downgrade, "0007", url)
    await asyncio.to_thread(upgrade, "head", url)
    engine = create_async_engine(async_database_url(url))
    async with engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    await engine.dispose()
    assert differences == []
