"""What the schemathesis contract runs share: the checks, the settings, the schema and a key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from fastapi import FastAPI
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from course_supporter.config import Settings
from course_supporter.db import Database
from course_supporter.tenancy import service
from tests.conftest import make_settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
UNLIMITED = 1_000_000


def contract_settings(database_url: str, workdir: Path) -> Settings:
    """Limits far above what a run uses: the run tests the contract, not the limiter."""
    return make_settings(
        database_url,
        workdir,
        api_key_cache_ttl_seconds=10,
        auth_failure_limit=f"{UNLIMITED}/minute",
        # GET /api/v1/events streams until its lifetime ends: a short one ends each call.
        events_stream_max_seconds=0.1,
    )


def load_schema(app: FastAPI) -> Any:
    """The app's own document, loaded without starting the app (`from_asgi` would run the
    lifespan before the database is migrated); requests still go to the app over ASGI."""
    schema = schemathesis.openapi.from_dict(app.openapi())
    schema.app = app
    return schema


async def issue_key(settings: Settings, tenant: str = "contract") -> str:
    db = Database(settings)
    try:
        async with db.transaction() as session:
            await service.create_tenant(session, tenant)
            issued = await service.issue_key(
                session, tenant, scopes="prep,check", rate_prep=UNLIMITED, rate_check=UNLIMITED
            )
    finally:
        await db.dispose()
    return issued.raw_key
