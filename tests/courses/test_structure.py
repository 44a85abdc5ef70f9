"""Generated structure: 409 before processing, stored atomically, served with ETag, lessons."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from course_supporter.courses.models import Lesson, Module
from course_supporter.ingestion.document import Chunk, ChunkKind, Reference, SourceDocument
from course_supporter.llm.models import LLMCall
from course_supporter.materials.models import Material
from course_supporter.structuring.tasks import structure_course
from tests.conftest import ApiClient, make_settings, open_client

TUTORIAL = Path(__file__).parents[1] / "data" / "tutorial"


def chapter_document(number: int) -> SourceDocument:
    chunks = [
        Chunk(
            kind=ChunkKind.HEADING,
            text=f"Chapter {number}: Topic {number}",
            ref=Reference(heading_level=1),
        ),
        Chunk(kind=ChunkKind.HEADING, text=f"Section {number}.1", ref=Reference(heading_level=2)),
        Chunk(
            kind=ChunkKind.PARAGRAPH,
            text=f"A widget{number} is a small reusable part of a program. It helps.",
        ),
        Chunk(kind=ChunkKind.HEADING, text=f"Section {number}.2", ref=Reference(heading_level=2)),
        Chunk(kind=ChunkKind.PARAGRAPH, text="Practice makes the idea stick."),
    ]
    return SourceDocument(source_type="text", title=f"Chapter {number}", chunks=chunks)


async def course_with_done_materials(api: ApiClient, headers: dict[str, str], chapters: int) -> str:
    course = await api.http.post("/api/v1/courses", json={"title": "Widgets"}, headers=headers)
    course_id = course.json()["id"]
    me = (await api.http.get("/api/v1/me", headers=headers)).json()
    async with api.db.sessions() as session:
        for number in range(1, chapters + 1):
            session.add(
                Material(
                    course_id=uuid.UUID(course_id),
                    tenant_id=uuid.UUID(me["tenant_id"]),
                    source_type="text",
                    filename=f"{number:02d}.md",
                    status="done",
                    document=chapter_document(number).model_dump(mode="json"),
                )
            )
        await session.commit()
    return str(course_id)


async def test_structure_needs_a_processed_material(client: ApiClient) -> None:
    headers = {"X-API-Key": await client.new_key()}
    course = await client.http.post("/api/v1/courses", json={"title": "Empty"}, headers=headers)
    response = await client.http.post(
        f"/api/v1/courses/{course.json()['id']}/structure", json={}, headers=headers
    )
    assert response.status_code == 409
    bad = await client.http.post(
        f"/api/v1/courses/{course.json()['id']}/structure",
        json={"strategy": "cheapest"},
        headers=headers,
    )
    assert bad.status_code == 422


async def test_generated_structure_is_stored_served_and_replaced(client: ApiClient) -> None:
    headers = {"X-API-Key": await client.new_key()}
    course_id = await course_with_done_materials(client, headers, chapters=3)
    accepted = await client.http.post(
        f"/api/v1/courses/{course_id}/structure", json={"strategy": "budget"}, headers=headers
    )
    assert accepted.status_code == 202
    job = await client.http.get(f"/api/v1/jobs/{accepted.json()['job_id']}", headers=headers)
    assert job.json()["kind"] == "structure_course"

    me = (await client.http.get("/api/v1/me", headers=headers)).json()
    tenant_id = uuid.UUID(me["tenant_id"])
    job_id = uuid.UUID(accepted.json()["job_id"])
    result = await structure_course(
        client.db,
        client.settings,
        tenant_id=tenant_id,
        course_id=uuid.UUID(course_id),
        job_id=job_id,
        strategy="budget",
    )
    assert result["modules"] == 3 and result["version"] == 1

    response = await client.http.get(f"/api/v1/courses/{course_id}", headers=headers)
    structure = response.json()["structure"]
    # The chapters' own titles, without their numbering (the module's position carries it).
    assert [m["title"] for m in structure["modules"]] == ["Topic 1", "Topic 2", "Topic 3"]
    lesson = structure["modules"][0]["lessons"][0]
    assert lesson["title"] == "Section 1.1"

    etag = response.headers["etag"]
    cached = await client.http.get(
        f"/api/v1/courses/{course_id}", headers={**headers, "If-None-Match": etag}
    )
    assert cached.status_code == 304
    assert cached.content == b""

    one = await client.http.get(
        f"/api/v1/courses/{course_id}/lessons/{lesson['id']}", headers=headers
    )
    assert one.status_code == 200
    assert one.json() == lesson

    async with client.db.sessions() as session:
        calls = (await session.scalars(select(LLMCall).where(LLMCall.job_id == job_id))).all()
    assert [(c.provider, c.success, c.tenant_id) for c in calls] == [("local", True, tenant_id)]

    again = await structure_course(
        client.db,
        client.settings,
        tenant_id=tenant_id,
        course_id=uuid.UUID(course_id),
        job_id=None,
        strategy="default",
    )
    assert again["version"] == 2
    async with client.db.sessions() as session:
        modules = await session.scalar(
            select(func.count()).select_from(Module).where(Module.course_id == uuid.UUID(course_id))
        )
        same_place = await session.get(Lesson, uuid.UUID(lesson["id"]))
    assert modules == 3
    # Regenerated in its place, the lesson keeps its id (the diff stays about what changed).
    assert same_place is not None and same_place.title == lesson["title"]
    changed = await client.http.get(
        f"/api/v1/courses/{course_id}", headers={**headers, "If-None-Match": etag}
    )
    assert changed.status_code == 200
    assert changed.json()["structure"]["version"] == 2
    kept = await client.http.get(
        f"/api/v1/courses/{course_id}/lessons/{lesson['id']}", headers=headers
    )
    assert kept.status_code == 200 and kept.json()["title"] == lesson["title"]


async def test_etag_follows_every_change_of_the_course(client: ApiClient) -> None:
    headers = {"X-API-Key": await client.new_key()}
    course_id = await course_with_done_materials(client, headers, chapters=1)
    url = f"/api/v1/courses/{course_id}"

    async def etag() -> str:
        response = await client.http.get(url, headers=headers)
        assert response.status_code == 200
        return str(response.headers["etag"])

    seen = [await etag()]
    assert (
        await client.http.get(url, headers={**headers, "If-None-Match": seen[-1]})
    ).status_code == 304
    await client.http.patch(url, json={"description": "new"}, headers=headers)
    seen.append(await etag())
    material = await client.http.post(
        f"{url}/materials",
        json={"source_type": "web", "source_url": "https://example.com/x"},
        headers=headers,
    )
    seen.append(await etag())
    await client.http.delete(f"{url}/materials/{material.json()['id']}", headers=headers)
    # Back to the state before the material: the same content may carry the same tag.
    assert await etag() == seen[1]
    assert len(set(seen)) == len(seen)
    body = (await client.http.get(url, headers=headers)).json()
    assert body["description"] == "new"
    assert len(body["materials"]) == 1


def test_rendered_courses_stay_within_their_byte_budget() -> None:
    from course_supporter.courses.rendered import RenderedCourses

    rendered = RenderedCourses(max_bytes=10)
    rendered.put("a", b"12345")
    rendered.put("b", b"12345")
    assert rendered.get("a") == b"12345"  # now the most recently used
    rendered.put("c", b"123")
    assert rendered.get("b") is None
    assert rendered.get("a") == b"12345" and rendered.get("c") == b"123"
    rendered.put("huge", b"x" * 11)
    assert rendered.get("huge") is None


@pytest.mark.postgres
async def test_parallel_structure_jobs_leave_one_structure(
    postgres_url: str, tmp_path: Path
) -> None:
    """Each job deletes the rows it saw and inserts its own: unserialised, both sets stayed."""
    async with open_client(make_settings(postgres_url, tmp_path)) as api:
        headers = {"X-API-Key": await api.new_key()}
        course_id = await course_with_done_materials(api, headers, chapters=4)
        tenant_id = uuid.UUID(
            (await api.http.get("/api/v1/me", headers=headers)).json()["tenant_id"]
        )
        results = await asyncio.gather(
            *(
                structure_course(
                    api.db,
                    api.settings,
                    tenant_id=tenant_id,
                    course_id=uuid.UUID(course_id),
                    job_id=None,
                    strategy="budget",
                )
                for _ in range(4)
            )
        )
        assert sorted(result["version"] for result in results) == [1, 2, 3, 4]
        async with api.db.sessions() as session:
            modules = await session.scalar(
                select(func.count())
                .select_from(Module)
                .where(Module.course_id == uuid.UUID(course_id))
            )
            lessons = await session.scalar(
                select(func.count())
                .select_from(Lesson)
                .where(Lesson.course_id == uuid.UUID(course_id))
            )
        served = (await api.http.get(f"/api/v1/courses/{course_id}", headers=headers)).json()
        assert modules == len(served["structure"]["modules"])
        assert lessons == sum(len(m["lessons"]) for m in served["structure"]["modules"])
