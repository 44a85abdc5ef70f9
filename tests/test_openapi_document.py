"""The OpenAPI document itself: every `$ref` resolves, and the links chain real calls.

The stateful run follows only the document's own links (schemathesis' link inference is off)
from `POST /api/v1/courses`, over ASGI against a migrated SQLite database, and must reach the
operations that take a material's, a lesson's and a job's id with values taken from earlier
responses.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis import engine
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events
from schemathesis.python.asgi import shutdown_lifespans

from course_supporter.app import create_app
from course_supporter.db import Database
from course_supporter.migrate import upgrade
from course_supporter.tenancy import service
from tests.conftest import make_settings

UNLIMITED = 1_000_000
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "use_after_free",
    "ensure_resource_availability",
]
_WORKDIR = Path(tempfile.mkdtemp(prefix="cs_links_"))
_SETTINGS = make_settings(
    f"sqlite:///{_WORKDIR / 'links.db'}",
    _WORKDIR,
    api_key_cache_ttl_seconds=10,
    auth_failure_limit=f"{UNLIMITED}/minute",
)
APP = create_app(_SETTINGS)
DOCUMENT = APP.openapi()


def resolve(document: dict[str, Any], ref: str) -> Any:
    """The node a local JSON pointer (`#/components/schemas/X`) names, or KeyError."""
    assert ref.startswith("#/"), f"not a local reference: {ref}"
    node: Any = document
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def references(node: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield where, node["$ref"]
        for key, value in node.items():
            yield from references(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from references(value, f"{where}/{index}")


def test_every_ref_resolves() -> None:
    found = list(references(DOCUMENT))
    assert len(found) > 50, "the walk found too few references"
    unresolved = []
    for where, ref in found:
        try:
            resolve(DOCUMENT, ref)
        except (KeyError, IndexError, ValueError):
            unresolved.append(f"{where}: {ref}")
    assert not unresolved, "\n".join(unresolved)


def test_url_material_body_names_the_shared_source_type() -> None:
    material = DOCUMENT["paths"]["/api/v1/courses/{course_id}/materials"]["post"]
    json_body = material["requestBody"]["content"]["application/json"]["schema"]
    assert json_body["properties"]["source_type"] == {"$ref": "#/components/schemas/SourceType"}
    assert "$defs" not in json_body


def operation_ids() -> dict[str, tuple[str, str]]:
    return {
        operation["operationId"]: (method, path)
        for path, item in DOCUMENT["paths"].items()
        for method, operation in item.items()
    }


def links_of(method: str, path: str, status: str) -> dict[str, Any]:
    links: dict[str, Any] = DOCUMENT["paths"][path][method]["responses"][status]["links"]
    return links


def test_links_name_real_operations_and_their_path_parameters() -> None:
    ids = operation_ids()
    walked = 0
    for item in DOCUMENT["paths"].values():
        for operation in item.values():
            for response in operation["responses"].values():
                for name, link in response.get("links", {}).items():
                    _, target_path = ids[link["operationId"]]
                    for parameter in link["parameters"]:
                        assert "{" + parameter + "}" in target_path, (name, parameter)
                    walked += 1
    assert walked >= 15


def test_create_operations_link_to_what_takes_their_ids() -> None:
    course = links_of("post", "/api/v1/courses", "201")
    by_target = {ids_path: link for ids_path, link in _targets(course)}
    for target in (
        "/api/v1/courses/{course_id}",
        "/api/v1/courses/{course_id}/materials",
        "/api/v1/courses/{course_id}/structure",
        "/api/v1/courses/{course_id}/lessons/{lesson_id}",
    ):
        assert by_target[target]["parameters"] == {"course_id": "$response.body#/id"}, target

    material = dict(_targets(links_of("post", "/api/v1/courses/{course_id}/materials", "201")))
    assert material["/api/v1/courses/{course_id}/materials/{material_id}/document"][
        "parameters"
    ] == {"course_id": "$request.path.course_id", "material_id": "$response.body#/id"}
    assert material["/api/v1/jobs/{job_id}"]["parameters"] == {"job_id": "$response.body#/job_id"}

    structure = dict(_targets(links_of("post", "/api/v1/courses/{course_id}/structure", "202")))
    assert structure["/api/v1/jobs/{job_id}"]["parameters"] == {"job_id": "$response.body#/job_id"}


def _targets(links: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    ids = operation_ids()
    for link in links.values():
        yield ids[link["operationId"]][1], link


async def _issue_key(db: Database) -> str:
    async with db.transaction() as session:
        await service.create_tenant(session, "links")
        issued = await service.issue_key(
            session, "links", scopes="prep,check", rate_prep=UNLIMITED, rate_check=UNLIMITED
        )
    await db.dispose()
    return issued.raw_key


@pytest.fixture(scope="module")
def api_key() -> Iterator[str]:
    upgrade(database_url=_SETTINGS.database_url)
    yield asyncio.run(_issue_key(Database(_SETTINGS)))
    shutdown_lifespans()
    shutil.rmtree(_WORKDIR, ignore_errors=True)


def stateful_config(api_key: str) -> SchemathesisConfig:
    """Only the stateful phase, only the document's links, the contract test's checks."""
    checks: dict[str, Any] = {"enabled": False}
    for name in CHECKS:
        checks[name] = {"enabled": True}
    return SchemathesisConfig.from_dict(
        {
            "seed": 42,
            "headers": {"X-API-Key": api_key},
            "generation": {"max-examples": 200},
            "checks": checks,
            "phases": {
                "examples": {"enabled": False},
                "coverage": {"enabled": False},
                "fuzzing": {"enabled": False},
                "stateful": {"max-steps": 20, "inference": {"algorithms": []}},
            },
        }
    )


def test_stateful_run_reaches_materials_lessons_and_jobs_through_links(api_key: str) -> None:
    # The authoring chain only (courses, materials, structure, lessons, jobs): exercises and
    # the mentoring links need ids no generated body can guess, and would dilute the steps
    # (as would the event stream and webhooks, which link nowhere).
    schema = schemathesis.openapi.from_dict(DOCUMENT, config=stateful_config(api_key)).exclude(
        path_regex="exercises|submissions|grading|learners|quiz|events|webhooks"
    )
    schema.app = APP
    reached: set[str] = set()
    failures: list[str] = []
    for event in engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            cases = event.recorder.cases
            reached |= {
                node.value.operation.label
                for node in cases.values()
                if node.transition is not None and node.is_transition_applied
            }
            failures += [
                f"{check.name} on {cases[case_id].value.operation.label}: {check.failure_info}"
                for case_id, checks in event.recorder.checks.items()
                for check in checks
                if check.failure_info is not None
            ]
        elif isinstance(event, events.NonFatalError | events.FatalError):
            failures.append(repr(event))
    assert not failures, "\n".join(failures)
    wanted = {
        "GET /api/v1/courses/{course_id}/materials/{material_id}",
        "GET /api/v1/courses/{course_id}/materials/{material_id}/document",
        "GET /api/v1/courses/{course_id}/lessons/{lesson_id}",
        "GET /api/v1/jobs/{job_id}",
    }
    missing = sorted(wanted - reached)
    assert not missing, f"not reached through links: {missing} (reached: {sorted(reached)})"
