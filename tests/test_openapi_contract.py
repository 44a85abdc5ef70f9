"""Property-based contract run: the app against its own OpenAPI schema, over ASGI.

Schemathesis generates requests (valid and invalid) for every operation and sends them with a
real key holding both scopes and limits far above what the run uses. Every response must be
a non-5xx, and must be declared by the schema: status code, content type and body.
On SQLite here; tests/test_openapi_contract_postgres.py runs the same on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.python.asgi import shutdown_lifespans

from course_supporter.app import create_app
from course_supporter.migrate import upgrade
from tests.contract import CHECKS, contract_settings, issue_key, load_schema

_WORKDIR = Path(tempfile.mkdtemp(prefix="cs_contract_"))
_SETTINGS = contract_settings(f"sqlite:///{_WORKDIR / 'contract.db'}", _WORKDIR)
APP = create_app(_SETTINGS)
schema = load_schema(APP)


@pytest.fixture(scope="module")
def api_key() -> Iterator[str]:
    """Migrates the database and issues a key before the first request starts the app."""
    upgrade(database_url=_SETTINGS.database_url)
    yield asyncio.run(issue_key(_SETTINGS))
    shutdown_lifespans()
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


def test_schema_declares_error_responses() -> None:
    """Every authenticated operation declares the errors a client must handle."""
    document = APP.openapi()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not path.startswith("/api/"):
                continue
            declared = set(operation["responses"])
            assert {"401", "403", "429"} <= declared, (method, path, declared)
            if "requestBody" in operation:
                # Undecodable (400), oversized (413) and invalid (422) bodies.
                assert {"400", "413", "422"} <= declared, (method, path, declared)
