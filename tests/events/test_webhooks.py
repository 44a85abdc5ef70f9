"""Signed webhooks against a real HTTP receiver on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from standardwebhooks.webhooks import Webhook as StandardWebhook

from tests.conftest import ApiClient
from tests.events.conftest import Receiver
from tests.jobs.conftest import new_course, upload, wait_for_job

NOTES = b"# Hooks\n\n## One\n\nFirst part.\n"


async def eventually(check: Any, what: str, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        await asyncio.sleep(0.1)


async def register(
    api: ApiClient, headers: dict[str, str], url: str, types: list[str]
) -> dict[str, Any]:
    response = await api.http.post(
        "/api/v1/webhooks", json={"url": url, "event_types": types}, headers=headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_events_arrive_signed_and_the_secret_is_shown_once(
    events_client: ApiClient, receiver: Receiver
) -> None:
    api = events_client
    headers, course_id = await new_course(api)
    hook = await register(api, headers, receiver.url, ["material.done", "job.succeeded"])
    assert hook["secret"].startswith("whsec_")
    shown = await api.http.get(f"/api/v1/webhooks/{hook['id']}", headers=headers)
    assert "secret" not in shown.json()
    listing = await api.http.get("/api/v1/webhooks", headers=headers)
    assert [item["id"] for item in listing.json()["items"]] == [hook["id"]]
    assert "secret" not in listing.json()["items"][0]

    created = await upload(api, headers, course_id, "notes.md", NOTES)
    await wait_for_job(api, headers, created["job_id"], timeout=180)

    async def both_arrived() -> bool:
        return len(receiver.received) >= 2

    await eventually(both_arrived, "two deliveries")
    verifier = StandardWebhook(hook["secret"])
    messages = []
    for request_headers, body in receiver.received:
        messages.append(verifier.verify(body, request_headers))
        assert request_headers["webhook-id"]
    # Deliveries are independent queue jobs and may arrive in either order; the sequence
    # in the body is the order the events happened in.
    in_order = sorted(messages, key=lambda message: message["data"]["sequence"])
    assert [message["type"] for message in in_order] == ["material.done", "job.succeeded"]
    assert in_order[0]["data"]["subject_id"] == created["id"]
    forged = StandardWebhook("whsec_" + "A" * 32)
    try:
        forged.verify(receiver.received[0][1], receiver.received[0][0])
    except Exception:
        pass
    else:
        raise AssertionError("a signature verified under another secret")

    async def logged() -> list[dict[str, Any]] | None:
        response = await api.http.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=headers)
        items: list[dict[str, Any]] = response.json()["items"]
        return items if all(item["status"] == "succeeded" for item in items) else None

    deliveries = await eventually(logged, "the delivery log")
    assert {d["event_type"] for d in deliveries} == {"material.done", "job.succeeded"}
    assert all(d["attempts"][0]["status_code"] == 204 for d in deliveries)

    deleted = await api.http.delete(f"/api/v1/webhooks/{hook['id']}", headers=headers)
    assert deleted.status_code == 204
    gone = await api.http.get(f"/api/v1/webhooks/{hook['id']}", headers=headers)
    assert gone.status_code == 404


async def test_a_failing_endpoint_is_retried_then_disabled_with_an_event(
    database_url: str, tmp_path: Any, receiver: Receiver
) -> None:
    from tests.events.conftest import FAST_EVENTS
    from tests.jobs.conftest import embedded_client

    receiver.status = 500
    overrides = {**FAST_EVENTS, "webhook_retry_window_seconds": 4.0}
    async with embedded_client(database_url, tmp_path, **overrides) as api:
        headers, course_id = await new_course(api)
        hook = await register(api, headers, receiver.url, ["material.done"])
        watcher = await register(api, headers, receiver.url + "/other", ["webhook.disabled"])
        created = await upload(api, headers, course_id, "notes.md", NOTES)
        await wait_for_job(api, headers, created["job_id"], timeout=180)

        async def disabled(
            api: ApiClient = api,
            url: str = f"/api/v1/webhooks/{hook['id']}",
            headers: Any = headers,
        ) -> dict[str, Any] | None:
            response = await api.http.get(url, headers=headers)
            body: dict[str, Any] = response.json()
            return None if body["is_active"] else body

        state = await eventually(disabled, "disabling the endpoint")
        assert "HTTP 500" in state["disabled_reason"]
        deliveries = (
            await api.http.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=headers)
        ).json()["items"]
        assert deliveries[0]["status"] == "failed"
        attempts = deliveries[0]["attempts"]
        assert len(attempts) >= 2, "retried before giving up"
        assert all(a["status_code"] == 500 and a["duration_ms"] >= 0 for a in attempts)
        assert all(a["error"].startswith("HTTP 500") for a in attempts)

        stream = await api.http.get("/api/v1/events", headers={**headers, "Last-Event-ID": "0"})
        assert "event: webhook.disabled" in stream.text
        assert (await api.http.get(f"/api/v1/webhooks/{watcher['id']}", headers=headers)).json()[
            "is_active"
        ]


async def test_bad_webhook_registrations_are_422_and_write_nothing(
    events_client: ApiClient,
) -> None:
    api = events_client
    headers = {"X-API-Key": await api.new_key()}
    bad = [
        {"url": "http://10.0.0.5/hook", "event_types": ["job.failed"]},
        {"url": "http://169.254.169.254/latest", "event_types": ["job.failed"]},
        {"url": "http://192.168.1.1/hook", "event_types": ["job.failed"]},
        {"url": "ftp://example.com/hook", "event_types": ["job.failed"]},
        {"url": "http://user:pw@example.com/hook", "event_types": ["job.failed"]},
        {"url": "https://example.com/hook", "event_types": ["job.exploded"]},
        {"url": "https://example.com/hook", "event_types": []},
        {"url": "not a url", "event_types": ["job.failed"]},
    ]
    for body in bad:
        response = await api.http.post("/api/v1/webhooks", json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
    check_only = {"X-API-Key": await api.new_key("check")}
    refused = await api.http.post(
        "/api/v1/webhooks",
        json={"url": "https://example.com/h", "event_types": ["job.failed"]},
        headers=check_only,
    )
    assert refused.status_code == 403
    listing = await api.http.get("/api/v1/webhooks", headers=headers)
    assert listing.json()["items"] == []


async def test_loopback_is_refused_unless_the_test_setting_allows_it(
    client: ApiClient, receiver: Receiver
) -> None:
    headers = {"X-API-Key": await client.new_key()}
    response = await client.http.post(
        "/api/v1/webhooks",
        json={"url": receiver.url, "event_types": ["job.failed"]},
        headers=headers,
    )
    assert response.status_code == 422
    assert "not a public address" in response.text
