"""Tenant isolation, walked over every tenant-scoped operation in the app's OpenAPI route table.

A new endpoint joins this test automatically; one that needs a body must get a sample below,
or the test fails and says so.
"""

from __future__ import annotations

import re
import uuid

from tests.conftest import ApiClient
from tests.support import SAMPLE_BODIES, tenant_operations


async def owned_objects(client: ApiClient, key: str) -> dict[str, str]:
    headers = {"X-API-Key": key}
    course = await client.http.post("/api/v1/courses", json={"title": "Owned"}, headers=headers)
    assert course.status_code == 201
    course_id = course.json()["id"]
    # A structure of the owner's own, so that its versions exist: version 1, published.
    module = await client.http.post(
        f"/api/v1/courses/{course_id}/modules",
        json={"title": "Owned module"},
        headers={**headers, "If-Match": '"0"'},
    )
    assert module.status_code == 201, module.text
    published = await client.http.post(
        f"/api/v1/courses/{course_id}/publication", json={}, headers=headers
    )
    assert published.status_code == 200, published.text
    return {
        "course_id": course_id,
        "module_id": module.json()["id"],
        "version": "1",
        "a": "1",
        "b": "1",
    }


async def test_another_tenants_objects_are_404_on_every_endpoint(client: ApiClient) -> None:
    owner = await client.new_key()
    intruder = {"X-API-Key": await client.new_key()}
    ids = await owned_objects(client, owner)
    openapi = (await client.http.get("/openapi.json")).json()
    operations = tenant_operations(openapi)
    assert len(operations) >= 6, "the route table walk found too few operations"

    walked = 0
    for method, path, _operation in operations:
        params = re.findall(r"{(\w+)}", path)
        if not params or "course_id" not in params:
            continue
        url = path
        for name in params:
            url = url.replace("{" + name + "}", ids.get(name, str(uuid.uuid4())))
        body = SAMPLE_BODIES.get((method, path))
        if method in {"patch", "put"} or (method == "post" and not path.endswith("/restore")):
            assert (method, path) in SAMPLE_BODIES, f"add a sample body for {method} {path}"
        # A current If-Match, so that only the tenant check can refuse the writes.
        headers = {**intruder, "If-Match": '"1"'}
        response = await client.http.request(method, url, json=body, headers=headers)
        assert response.status_code == 404, f"{method.upper()} {path}: {response.status_code}"
        walked += 1
    assert walked >= 3

    listing = await client.http.get("/api/v1/courses", headers=intruder)
    assert ids["course_id"] not in {item["id"] for item in listing.json()["items"]}
    still_there = await client.http.get(
        f"/api/v1/courses/{ids['course_id']}", headers={"X-API-Key": owner}
    )
    assert still_there.status_code == 200
    assert still_there.json()["title"] == "Owned"


async def test_another_tenants_webhooks_are_404_on_every_webhook_endpoint(
    client: ApiClient,
) -> None:
    """The webhook routes, walked like the course routes above, with a webhook of the owner's
    (created straight in the database: its URL guard is tested in tests/events)."""
    from course_supporter.events.models import Webhook
    from course_supporter.tenancy.service import authenticate_key

    owner = await client.new_key()
    intruder = {"X-API-Key": await client.new_key()}
    async with client.db.sessions() as session:
        context = await authenticate_key(session, owner, client.settings)
    assert context is not None
    async with client.db.sessions() as session:
        webhook = Webhook(
            tenant_id=context.tenant_id,
            url="https://example.com/hook",
            event_types=["job.failed"],
            secret="whsec_" + "A" * 32,
        )
        session.add(webhook)
        await session.commit()
    openapi = (await client.http.get("/openapi.json")).json()
    walked = 0
    for method, path, _operation in tenant_operations(openapi):
        if "{webhook_id}" not in path:
            continue
        url = path.replace("{webhook_id}", str(webhook.id))
        response = await client.http.request(method, url, headers=intruder)
        assert response.status_code == 404, f"{method.upper()} {path}: {response.status_code}"
        walked += 1
    assert walked >= 3
    listing = await client.http.get("/api/v1/webhooks", headers=intruder)
    assert listing.json()["items"] == []
    mine = await client.http.get(f"/api/v1/webhooks/{webhook.id}", headers={"X-API-Key": owner})
    assert mine.status_code == 200
