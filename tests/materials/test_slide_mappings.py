"""Slide mappings are idempotent and hold under concurrent posts (PostgreSQL): never a 500."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from course_supporter.materials.repository import SlideMappingRepository
from tests.conftest import ApiClient, make_settings, open_client
from tests.support import new_course


@pytest.fixture
async def pg_client(postgres_url: str, tmp_path: Path) -> AsyncIterator[ApiClient]:
    async with open_client(make_settings(postgres_url, tmp_path)) as api:
        yield api


async def stored(client: ApiClient, course_id: str) -> dict[int, str]:
    async with client.db.sessions() as session:
        rows = await SlideMappingRepository(session).for_course(uuid.UUID(course_id))
        return {row.slide_number: row.video_timecode for row in rows}


def mappings(*pairs: tuple[int, str]) -> dict[str, object]:
    return {"mappings": [{"slide_number": n, "video_timecode": t} for n, t in pairs]}


async def test_repeating_a_mapping_is_a_no_op(client: ApiClient) -> None:
    headers, course_id = await new_course(client)
    url = f"/api/v1/courses/{course_id}/slide-mapping"
    first = await client.http.post(url, json=mappings((1, "00:00:10")), headers=headers)
    assert (first.status_code, first.json()["created"]) == (201, 1)
    again = await client.http.post(
        url, json=mappings((1, "00:00:10"), (2, "00:00:20")), headers=headers
    )
    assert (again.status_code, again.json()["created"]) == (201, 1), again.text
    assert await stored(client, course_id) == {1: "00:00:10", 2: "00:00:20"}


async def test_remapping_a_slide_is_422_and_writes_nothing(client: ApiClient) -> None:
    headers, course_id = await new_course(client)
    url = f"/api/v1/courses/{course_id}/slide-mapping"
    await client.http.post(url, json=mappings((1, "00:00:10")), headers=headers)
    clash = await client.http.post(
        url, json=mappings((1, "00:00:11"), (3, "00:00:30")), headers=headers
    )
    assert clash.status_code == 422, clash.text
    [error] = clash.json()["detail"]
    assert error["loc"] == ["body", "mappings"] and "[1]" in error["msg"]
    assert await stored(client, course_id) == {1: "00:00:10"}  # slide 3 rolled back


async def test_concurrent_posts_for_one_slide_are_idempotent(pg_client: ApiClient) -> None:
    headers, course_id = await new_course(pg_client)
    url = f"/api/v1/courses/{course_id}/slide-mapping"
    post = mappings((1, "00:00:10"))
    same = await asyncio.gather(
        *(pg_client.http.post(url, json=post, headers=headers) for _ in range(12))
    )
    assert [r.status_code for r in same] == [201] * 12, [r.text for r in same]
    assert sum(r.json()["created"] for r in same) == 1
    assert await stored(pg_client, course_id) == {1: "00:00:10"}


async def test_concurrent_posts_with_different_timecodes_keep_one(pg_client: ApiClient) -> None:
    headers, course_id = await new_course(pg_client)
    url = f"/api/v1/courses/{course_id}/slide-mapping"
    timecodes = [f"00:00:{second:02d}" for second in range(12)]
    answers = await asyncio.gather(
        *(pg_client.http.post(url, json=mappings((7, t)), headers=headers) for t in timecodes)
    )
    codes = sorted(r.status_code for r in answers)
    assert codes == [201] + [422] * 11, [r.text for r in answers]
    [winner] = [t for t, r in zip(timecodes, answers, strict=True) if r.status_code == 201]
    assert await stored(pg_client, course_id) == {7: winner}


async def test_overlapping_concurrent_posts_never_deadlock(pg_client: ApiClient) -> None:
    headers, course_id = await new_course(pg_client)
    url = f"/api/v1/courses/{course_id}/slide-mapping"
    slides = list(range(1, 41))
    orders = [random.Random(seed).sample(slides, len(slides)) for seed in range(8)]
    answers = await asyncio.gather(
        *(
            pg_client.http.post(
                url, json=mappings(*((n, "00:01:00") for n in order)), headers=headers
            )
            for order in orders
        )
    )
    assert [r.status_code for r in answers] == [201] * len(orders), [r.text for r in answers]
    assert sum(r.json()["created"] for r in answers) == len(slides)
    assert await stored(pg_client, course_id) == dict.fromkeys(slides, "00:01:00")
