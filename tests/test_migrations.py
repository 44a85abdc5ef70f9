"""Migrations produce exactly the ORM's schema, on SQLite and on PostgreSQL (procrastinate's
own objects, installed next to ours by `db upgrade`, are left out by name)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from course_supporter.db import async_database_url
from course_supporter.migrate import is_ours
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
