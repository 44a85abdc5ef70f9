"""Request bodies at the edge: the JSON cap holds for chunked bodies, and NUL in any JSON text
field of the public API is a 422 on SQLite and PostgreSQL alike.

The NUL walk finds string fields in the app's own OpenAPI document, so a new endpoint or field
joins it by itself (its sample body comes from the isolation test's table).
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

from tests.conftest import ApiClient
from tests.support import SAMPLE_BODIES, tenant_operations

NUL_TEXT = "before\u0000after"


def string_paths(schema: dict[str, Any], openapi: dict[str, Any]) -> Iterator[list[str | int]]:
    """Paths to every string-typed value a JSON body of `schema` can hold (arrays at index 0)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        yield from string_paths(openapi["components"]["schemas"][name], openapi)
        return
    for alternative in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        yield from string_paths(alternative, openapi)
    if schema.get("type") == "string":
        yield []
    for name, property_schema in schema.get("properties", {}).items():
        for rest in string_paths(property_schema, openapi):
            yield [name, *rest]
    if "items" in schema:
        for rest in string_paths(schema["items"], openapi):
            yield [0, *rest]


def with_value(body: Any, path: list[str | int], value: str) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        items = list(body) if isinstance(body, list) and body else [{}]
        items[0] = with_value(items[0], rest, value)
        return items
    changed = dict(body) if isinstance(body, dict) else {}
    changed[head] = with_value(changed.get(head, {}), rest, value)
    return changed


def json_operations(openapi: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for method, path, operation in tenant_operations(openapi):
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            yield method, path, content["application/json"]["schema"]


async def test_nul_in_every_json_text_field_is_422_and_writes_nothing(client: ApiClient) -> None:
    headers = {"X-API-Key": await client.new_key()}
    course = await client.http.post("/api/v1/courses", json={"title": "Mine"}, headers=headers)
    course_id = course.json()["id"]
    openapi = (await client.http.get("/openapi.json")).json()

    fields = 0
    for method, path, schema in json_operations(openapi):
        url = path.replace("{course_id}", course_id)
        url = re.sub(r"{\w+}", str(uuid.uuid4()), url)
        assert (method, path) in SAMPLE_BODIES, f"add a sample body for {method} {path}"
        sample = copy.deepcopy(SAMPLE_BODIES[(method, path)])
        for where in string_paths(schema, openapi):
            body = with_value(sample, where, NUL_TEXT)
            response = await client.http.request(method, url, json=body, headers=headers)
            what = f"{method.upper()} {path} {where}: {response.status_code} {response.text}"
            assert response.status_code == 422, what
            [error] = response.json()["detail"]
            assert error == {
                "loc": ["body", *where],
                "msg": "NUL characters (\\u0000) are not allowed in text",
                "type": "string_nul",
            }, what
            assert response.json()["request_id"], what
            fields += 1
    assert fields >= 8, "the OpenAPI walk found too few string fields"

    in_a_key = await client.http.post(
        "/api/v1/courses", json={"title": "t", "x\u0000": 1}, headers=headers
    )
    assert in_a_key.status_code == 422
    assert in_a_key.json()["detail"][0]["loc"] == ["body", "x\u0000"]

    courses = (await client.http.get("/api/v1/courses", headers=headers)).json()["items"]
    assert [(c["id"], c["title"]) for c in courses] == [(course_id, "Mine")]
    materials = await client.http.get(f"/api/v1/courses/{course_id}/materials", headers=headers)
    assert materials.json()["items"] == []


async def test_escaped_backslash_before_u0000_is_ordinary_text(client: ApiClient) -> None:
    headers = {"X-API-Key": await client.new_key(), "Content-Type": "application/json"}
    raw = json.dumps({"title": "a literal \\u0000 in prose"}).encode()
    assert b"\\\\u0000" in raw
    created = await client.http.post("/api/v1/courses", content=raw, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["title"] == "a literal \\u0000 in prose"


async def test_chunked_json_over_the_cap_is_413(client: ApiClient) -> None:
    headers = {"X-API-Key": await client.new_key(), "Content-Type": "application/json"}
    limit = client.settings.max_json_body_bytes
    course = await client.http.post("/api/v1/courses", json={"title": "C"}, headers=headers)
    course_id = course.json()["id"]

    def chunked(document: dict[str, Any]) -> AsyncIterator[bytes]:
        raw = json.dumps(document).encode()

        async def pieces() -> AsyncIterator[bytes]:
            for start in range(0, len(raw), 4096):
                yield raw[start : start + 4096]

        return pieces()

    big = {"title": "big", "description": "y" * limit}
    for url in ("/api/v1/courses", f"/api/v1/courses/{course_id}/materials"):
        body = big if url == "/api/v1/courses" else {"source_type": "web", "source_url": big}
        response = await client.http.post(url, content=chunked(body), headers=headers)
        assert "content-length" not in response.request.headers
        assert response.status_code == 413, (url, response.text)
        assert response.json()["detail"] == f"Request body larger than {limit} bytes"
        assert response.json()["request_id"]
    small = await client.http.post(
        "/api/v1/courses", content=chunked({"title": "chunked"}), headers=headers
    )
    assert small.status_code == 201, small.text
    courses = (await client.http.get("/api/v1/courses", headers=headers)).json()["items"]
    assert sorted(c["title"] for c in courses) == ["C", "chunked"]
