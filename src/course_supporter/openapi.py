"""The app's OpenAPI document: hand-inlined `$defs` lifted into components, links added."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI

Document = dict[str, Any]

_DEFS_REF = "#/$defs/"
_COMPONENTS_REF = "#/components/schemas/"
_CREATED = ("201", "202")


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` (and /openapi.json) return the finished document, built once."""
    generate: Callable[[], Document] = app.openapi

    def openapi() -> Document:
        if app.openapi_schema is None:
            document = generate()
            lift_defs(document)
            add_links(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def lift_defs(document: Document) -> None:
    """Move the `$defs` of schemas inlined by hand (a model's `model_json_schema()`) into
    components, where their `#/$defs/…` references can resolve."""
    components: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    for node in _dicts(document.get("paths", {})):
        for name, schema in node.pop("$defs", {}).items():
            if components.setdefault(name, schema) != schema:
                raise ValueError(f"two different schemas are both named {name!r}")
    for node in _dicts(document):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_DEFS_REF):
            node["$ref"] = _COMPONENTS_REF + ref.removeprefix(_DEFS_REF)


def add_links(document: Document) -> None:
    """Link each create operation's 201/202 to every operation that takes an id it returns."""
    # Ids returned: the created object's `id` (its parameter named by the route: `POST …/things`
    # → `…/things/{thing_id}`) and top-level properties named like a path parameter (`job_id`).
    # The request's own path parameters pass along; others (a lesson's id) are the client's.
    operations = list(_operations(document))
    parameter_names = {name for _, path, _ in operations for name in _path_parameters(path)}
    for method, path, operation in operations:
        if method != "post":
            continue
        for status, response in operation.get("responses", {}).items():
            if status not in _CREATED:
                continue
            returned = _returned_ids(document, path, response, parameter_names)
            if not returned:
                continue
            links = {
                target["operationId"]: {
                    "operationId": target["operationId"],
                    "parameters": _link_parameters(path, target_path, returned),
                }
                for _, target_path, target in operations
                if target is not operation and returned.keys() & _path_parameters(target_path)
            }
            if links:
                response["links"] = links


def _returned_ids(
    document: Document, path: str, response: dict[str, Any], parameter_names: set[str]
) -> dict[str, str]:
    """Path parameter → the runtime expression that takes its value from the response body."""
    properties = _properties(document, response)
    taken = _path_parameters(path)
    returned = {
        name: f"$response.body#/{name}"
        for name in properties
        if name in parameter_names and name not in taken
    }
    member = _member_parameter(document, path)
    if member and "id" in properties:
        returned[member] = "$response.body#/id"
    return returned


def _link_parameters(source: str, target: str, returned: dict[str, str]) -> dict[str, str]:
    known = {name: f"$request.path.{name}" for name in _path_parameters(source)} | returned
    return {name: known[name] for name in sorted(_path_parameters(target)) if name in known}


def _member_parameter(document: Document, collection: str) -> str | None:
    """`course_id` for `/api/v1/courses`, when `/api/v1/courses/{course_id}…` is a route."""
    pattern = re.compile(re.escape(collection) + r"/\{(\w+)\}(/|$)")
    for path in document.get("paths", {}):
        if match := pattern.match(path):
            return match.group(1)
    return None


def _properties(document: Document, response: dict[str, Any]) -> dict[str, Any]:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    if ref.startswith(_COMPONENTS_REF):
        schema = document["components"]["schemas"][ref.removeprefix(_COMPONENTS_REF)]
    properties: dict[str, Any] = schema.get("properties", {})
    return properties


def _operations(document: Document) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                yield method, path, operation


def _path_parameters(path: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", path))


def _dicts(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping in a JSON tree, parents before their children."""
    if isinstance(node, dict):
        yield node
        for value in list(node.values()):
            yield from _dicts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _dicts(value)
