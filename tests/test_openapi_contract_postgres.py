"""The property-based contract run of tests/test_openapi_contract.py, on PostgreSQL.

PostgreSQL refuses what SQLite stores (NUL in text, over-long values, concurrent unique
writes): a request that is a 4xx on one database must not be a 5xx on the other.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.python.asgi import shutdown_lifespans
from sqlalchemy.engine import make_url

from course_supporter.app import create_app
from course_supporter.migrate import upgrade
from tests.conftest import (
    POSTGRES_URL,
    _create_postgres_database,
    _drop_postgres_database,
    service_missing,
)
from tests.contract import CHECKS, contract_settings, issue_key, load_schema

pytestmark = pytest.mark.postgres

_WORKDIR = Path(tempfile.mkdtemp(prefix="cs_contract_pg_"))
_DATABASE = f"cs_contract_{uuid.uuid4().hex[:12]}"
_ADMIN_URL = POSTGRES_URL or "postgresql://postgres@127.0.0.1:5432/postgres"
_SETTINGS = contract_settings(
    make_url(_ADMIN_URL).set(database=_DATABASE).render_as_string(hide_password=False), _WORKDIR
)
APP = create_app(_SETTINGS)
schema = load_schema(APP)


@pytest.fixture(scope="module")
def api_key() -> Iterator[str]:
    """A database of this run's own, migrated, and a key, before the first request."""
    if not POSTGRES_URL:
        service_missing("PostgreSQL", "TEST_POSTGRES_URL is not set")
    try:
        asyncio.run(_create_postgres_database(_ADMIN_URL, _DATABASE))
    except Exception as exc:
        service_missing("PostgreSQL", f"cannot create a database: {exc}")
    upgrade(database_url=_SETTINGS.database_url)
    yield asyncio.run(issue_key(_SETTINGS))
    shutdown_lifespans()
    asyncio.run(_drop_postgres_database(_ADMIN_URL, _DATABASE))
    shutil.rmtree(_WORKDIR, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_response_is_declared_and_not_a_server_error(
    case: schemathesis.Case, api_key: str
) -> None:
    case.call_and_validate(headers={"X-API-Key": api_key}, checks=CHECKS)
