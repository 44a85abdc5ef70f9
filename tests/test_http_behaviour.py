"""Cross-cutting HTTP behaviour: request ids, access log, security headers, CORS, 500s, docs."""

from __future__ import annotations

import inspect
import logging
import uuid
from pathlib import Path

import pytest

from course_supporter.app import create_app
from course_supporter.config import Settings
from tests.conftest import ApiClient, make_settings, open_client


async def test_request_id_is_accepted_or_minted(client: ApiClient) -> None:
    echoed = await client.http.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    minted = await client.http.get("/health/live", headers={"X-Request-ID": "bad id\n"})
    assert minted.headers["x-request-id"] != "bad id\n"
    assert len(minted.headers["x-request-id"]) == 32


async def test_security_headers_on_every_response(client: ApiClient) -> None:
    for path in ("/health/live", "/api/v1/me", "/nope"):
        response = await client.http.get(path)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "referrer-policy" in response.headers
        assert "strict-transport-security" not in response.headers


async def test_hsts_in_production(sqlite_url: str, tmp_path: Path) -> None:
    settings = make_settings(sqlite_url, tmp_path, environment="production")
    async with open_client(settings) as api:
        response = await api.http.get("/health/live")
        assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_cors_denies_unlisted_origins(sqlite_url: str, tmp_path: Path) -> None:
    settings = make_settings(sqlite_url, tmp_path, cors_allowed_origins="https://app.example")
    async with open_client(settings) as api:
        preflight = {"Access-Control-Request-Method": "GET"}
        allowed = await api.http.options(
            "/api/v1/me", headers={"Origin": "https://app.example", **preflight}
        )
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        denied = await api.http.options(
            "/api/v1/me", headers={"Origin": "https://evil.example", **preflight}
        )
        assert "access-control-allow-origin" not in denied.headers


async def test_unhandled_error_is_a_bare_500(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    import httpx

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/boom")
    assert response.status_code == 500
    assert response.json() == {
        "detail": "Internal server error",
        "request_id": response.headers["x-request-id"],
    }
    assert "secret internals" not in response.text


async def test_access_log_has_request_and_tenant_but_never_the_key(
    client: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    key = await client.new_key()
    with caplog.at_level(logging.INFO, logger="course_supporter.access"):
        await client.http.get("/api/v1/me", headers={"X-API-Key": key, "X-Request-ID": "req-77"})
    lines = [
        r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg["event"] == "request"
    ]
    line = next(entry for entry in lines if entry.get("request_id") == "req-77")
    assert line["path"] == "/api/v1/me"
    assert line["method"] == "GET"
    assert line["status"] == 200
    assert line["tenant_id"] is not None
    assert line["latency_ms"] >= 0
    assert key not in caplog.text
    assert all(key not in str(entry) for entry in lines)


async def test_openapi_declares_auth_and_error_responses(client: ApiClient) -> None:
    openapi = (await client.http.get("/openapi.json")).json()
    assert openapi["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"
    create = openapi["paths"]["/api/v1/courses"]["post"]
    assert {"201", "401", "403", "413", "422", "429"} <= set(create["responses"])
    assert "404" in openapi["paths"]["/api/v1/courses/{course_id}"]["get"]["responses"]
    docs = await client.http.get("/docs")
    assert docs.status_code == 200


async def test_metrics_count_requests_by_route_and_report_jobs(client: ApiClient) -> None:
    key = await client.new_key()
    course = await client.http.post(
        "/api/v1/courses", json={"title": "m"}, headers={"X-API-Key": key}
    )
    await client.http.get(f"/api/v1/courses/{course.json()['id']}", headers={"X-API-Key": key})
    await client.http.post(
        f"/api/v1/courses/{course.json()['id']}/materials",
        json={"source_type": "web", "source_url": "https://example.com/x"},
        headers={"X-API-Key": key},
    )
    body = (await client.http.get("/metrics")).text
    assert body.startswith("# HELP")
    assert (
        'course_supporter_http_requests_total{method="GET",route="/api/v1/courses/{course_id}",'
        'status="200"}' in body
    )
    assert "course_supporter_http_request_duration_seconds_bucket" in body
    assert 'course_supporter_jobs{state="queued"}' in body
    openapi = (await client.http.get("/openapi.json")).json()
    assert "/metrics" not in openapi["paths"]


@pytest.mark.parametrize(
    ("environment", "token", "header", "status"),
    [
        ("production", None, None, 404),  # closed unless a token is set
        ("production", "s3cret-token", None, 404),
        ("production", "s3cret-token", "Bearer wrong", 404),
        ("production", "s3cret-token", "Bearer s3cret-token", 200),
        ("development", "s3cret-token", None, 404),
        ("development", None, None, 200),
    ],
)
async def test_metrics_are_protected_in_the_app_not_only_by_nginx(
    sqlite_url: str,
    tmp_path: Path,
    environment: str,
    token: str | None,
    header: str | None,
    status: int,
) -> None:
    settings = make_settings(sqlite_url, tmp_path, environment=environment, metrics_token=token)
    async with open_client(settings) as api:
        headers = {"Authorization": header} if header else {}
        assert (await api.http.get("/metrics", headers=headers)).status_code == status


async def test_405_names_every_method_the_path_serves(client: ApiClient) -> None:
    for method in ("OPTIONS", "PUT"):
        response = await client.http.request(method, "/api/v1/courses")
        assert response.status_code == 405
        assert response.headers["Allow"] == "GET, POST"
    one = await client.http.request("PUT", f"/api/v1/courses/{uuid.uuid4()}")
    assert one.status_code == 405
    assert one.headers["Allow"] == "DELETE, GET, PATCH"


def test_no_route_depends_on_a_plain_function(tmp_path: Path) -> None:
    """FastAPI runs a plain (sync) dependency or endpoint in its thread pool: a hand-off that
    costs more than the attribute reads ours do. Every one is async, so none pays it."""
    from fastapi.routing import APIRoute

    app = create_app(make_settings(f"sqlite:///{tmp_path / 'app.db'}", tmp_path))
    routes, seen, plain = list(app.routes), 0, []
    while routes:
        route = routes.pop()
        included = getattr(route, "original_router", None)  # an include_router() entry
        if included is not None:
            routes.extend(included.routes)
        if not isinstance(route, APIRoute):
            continue
        seen += 1
        pending = [route.dependant]
        while pending:
            dependant = pending.pop()
            pending.extend(dependant.dependencies)
            call = dependant.call
            if call is None:
                continue
            target = call if inspect.isfunction(call) else type(call).__call__
            if not (inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)):
                plain.append(f"{route.path}: {getattr(call, '__qualname__', call)}")
    assert seen > 50
    assert plain == []
