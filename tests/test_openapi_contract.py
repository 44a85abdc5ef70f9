"""Property-based contract run: the app against its own OpenAPI schema, over ASGI.

Schemathesis generates requests (valid and invalid) for every operation and sends them with a
real key holding both scopes and limits far above what the run uses. Every response must be
a non-5xx, and must be declared by the schema: status code, content type and body.
SQLite only — a single migrated database; the behaviour under test is the HTTP layer.
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
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from course_supporter.app import create_app
from course_supporter.db import Database
from course_supporter.migrate import upgrade
from course_supporter.tenancy import service
from tests.conftest import make_settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
UNLIMITED = 1_000_000


_WORKDIR = Path(tempfile.mkdtemp(prefix="cs_contract_"))
_SETTINGS = make_settings(
    f"sqlite:///{_WORKDIR / 'contract.db'}",
    _WORKDIR,
    api_key_cache_ttl_seconds=10,
    auth_failure_limit=f"{UNLIMITED}/minute",
)
APP = create_app(_SETTINGS)
# Loaded from the app's own document without starting it (`from_asgi` would run the lifespan
# before the database is migrated); requests still go to APP in-process over ASGI.
schema = schemathesis.openapi.from_dict(APP.openapi())
schema.app = APP


async def _issue_key(db: Database) -> str:
    async with db.sessions() as session:
        await service.create_tenant(session, "contract")
        issued = await service.issue_key(
            session, "contract", scopes="prep,check", rate_prep=UNLIMITED, rate_check=UNLIMITED
        )
    await db.dispose()
    return issued.raw_key


@pytest.fixture(scope="module")
def api_key() -> Iterator[str]:
    """Migrates the database and issues a key before the first request starts the app."""
    upgrade(database_url=_SETTINGS.database_url)
    yield asyncio.run(_issue_key(Database(_SETTINGS)))
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
