"""`db upgrade` installs procrastinate's schema on PostgreSQL, and running it again is harmless."""

from __future__ import annotations

import pytest

from course_supporter.jobs.queue import ensure_queue_schema
from course_supporter.migrate import upgrade

pytestmark = pytest.mark.postgres


def test_db_upgrade_installs_the_queue_schema_once(postgres_url: str) -> None:
    assert ensure_queue_schema(postgres_url) is False  # the fixture's upgrade installed it
    upgrade(database_url=postgres_url)
    assert ensure_queue_schema(postgres_url) is False
