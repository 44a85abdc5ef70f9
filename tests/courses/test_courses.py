"""Course CRUD, pagination and bad input."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert

from course_supporter.courses.models import Course
from course_supporter.db import new_id
from course_supporter.materials.models import Material
from tests.conftest import ApiClient


async def test_course_lifecycle(client: ApiClient) -> None:
    headers = {"X-API-Key": await client.new_key()}
    created = await client.http.post(
        "/api/v1/courses",
        json={"title": "  Python basics ", "learning_goal": "Write scripts"},
        headers=headers,
    )
    assert created.status_code == 201
    course = created.json()
    assert course["title"] == "Python basics"
    assert course["created_at"].endswith(("Z", "+00:00"))
    url = f"/api/v1/courses/{course['id']}"

    patched = await client.http.patch(url, json={"description": "Intro"}, headers=headers)
    assert patched.status_code == 200
    assert patched.json()["description"] == "Intro"
    assert patched.json()["learning_goal"] == "Write scripts"

    fetched = await client.http.get(url, headers=headers)
    assert fetched.json()["description"] == "Intro"

    assert (await client.http.delete(url, headers=headers)).status_code == 204
    assert (await client.http.get(url, headers=headers)).status_code == 404
    assert (await client.http.delete(url, headers=headers)).status_code == 404


async def test_cursor_pagination_walks_every_course_once(client: ApiClient) -> None:
    headers = {"X-API-Key": await client.new_key()}
    created = []
    for number in range(7):
        response = await client.http.post(
            "/api/v1/courses", json={"title": f"Course {number}"}, headers=headers
        )
        created.append(response.json()["id"])
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await client.http.get("/api/v1/courses", params=params, headers=headers)).json()
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(created))


async def test_bad_input_is_4xx_and_writes_nothing(client: ApiClient) -> None:
    headers = {"X-API-Key": await client.new_key()}
    bad_requests: list[tuple[dict[str, Any], int]] = [
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 422),
        ({"json": {"title": 5}}, 422),
        ({"json": {}}, 422),
        ({"json": {"title": "ok", "unknown": 1}}, 422),
        ({"json": {"title": "x" * 301}}, 422),
        ({"json": {"title": "   "}}, 422),
        ({"json": {"title": "big", "description": "y" * 100_000}}, 413),
    ]
    for kwargs, expected in bad_requests:
        extra_headers = kwargs.pop("headers", {})
        response = await client.http.post(
            "/api/v1/courses", **kwargs, headers={**headers, **extra_headers}
        )
        assert response.status_code == expected, (kwargs, response.text)
        assert "detail" in response.json()
    listing = await client.http.get("/api/v1/courses", headers=headers)
    assert listing.json()["items"] == []


async def test_bad_ids_and_cursors_are_422(client: ApiClient) -> None:
    headers = {"X-API-Key": await client.new_key()}
    assert (await client.http.get("/api/v1/courses/not-a-uuid", headers=headers)).status_code == 422
    for params in ({"cursor": "%%%"}, {"cursor": "abc"}, {"limit": 0}, {"limit": 101}):
        response = await client.http.get("/api/v1/courses", params=params, headers=headers)
        assert response.status_code == 422, params


async def test_a_course_renders_every_material_past_any_page_size(client: ApiClient) -> None:
    headers = {"X-API-Key": await client.new_key()}
    created = await client.http.post("/api/v1/courses", json={"title": "Big"}, headers=headers)
    course_id = uuid.UUID(created.json()["id"])
    count = 10_001  # one more than the page the course once read its materials through
    async with client.db.sessions() as session:
        course = await session.get(Course, course_id)
        assert course is not None
        rows = [
            {
                "id": new_id(),
                "course_id": course_id,
                "tenant_id": course.tenant_id,
                "source_type": "web",
                "source_url": f"https://example.org/{number}",
                "status": "pending",
            }
            for number in range(count)
        ]
        await session.execute(insert(Material), rows)
        await session.commit()

    rendered = await client.http.get(f"/api/v1/courses/{course_id}", headers=headers)

    assert rendered.status_code == 200
    assert len(rendered.json()["materials"]) == count
