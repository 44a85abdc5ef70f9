"""The whole main job over the API: upload chapters, wait, generate the structure, read it."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from sqlalchemy import update

from course_supporter.ingestion.document import Chunk, ChunkKind, SourceDocument
from course_supporter.materials.models import Material
from tests.jobs.conftest import embedded_client, new_course, upload, wait_for_job

TUTORIAL = Path(__file__).parents[1] / "data" / "tutorial"


async def test_chapters_become_modules_through_the_api(database_url: str, tmp_path: Path) -> None:
    async with embedded_client(database_url, tmp_path) as api:
        headers, course_id = await new_course(api)
        chapters = sorted(TUTORIAL.glob("*.md"))
        for chapter in chapters:
            created = await upload(api, headers, course_id, chapter.name, chapter.read_bytes())
            job = await wait_for_job(api, headers, created["job_id"])
            assert job["status"] == "succeeded", job

        accepted = await api.http.post(
            f"/api/v1/courses/{course_id}/structure", json={"strategy": "default"}, headers=headers
        )
        assert accepted.status_code == 202
        job = await wait_for_job(api, headers, accepted.json()["job_id"])
        assert job["status"] == "succeeded", job
        assert job["result"]["modules"] == len(chapters)
        assert job["result"]["provider"] == "local"

        course = (await api.http.get(f"/api/v1/courses/{course_id}", headers=headers)).json()
        modules = course["structure"]["modules"]
        assert len(modules) == len(chapters)
        first_headings = [c.read_text().splitlines()[0].lstrip("# ").strip() for c in chapters]
        assert [m["title"] for m in modules] == first_headings
        assert all(m["lessons"] for m in modules)
        report = (await api.http.get("/api/v1/reports/cost", headers=headers)).json()
        assert report["total"]["calls"] == 1


async def test_modules_follow_the_tenants_order_not_the_material_type(
    database_url: str, tmp_path: Path
) -> None:
    """A subtitle lecture uploaded last, and chapters placed by `position` in reverse."""
    vtt = (
        b"WEBVTT\n\n00:00:01.000 --> 00:00:09.000\n"
        b"A pull request is a proposal to merge one branch into another.\n"
    )
    async with embedded_client(database_url, tmp_path) as api:
        headers, course_id = await new_course(api)
        chapters = sorted(TUTORIAL.glob("*.md"))
        jobs = [
            await upload(api, headers, course_id, c.name, c.read_bytes(), position=10 - n)
            for n, c in enumerate(chapters)
        ]
        jobs.append(await upload(api, headers, course_id, "review.vtt", vtt, "video"))
        for created in jobs:
            assert (await wait_for_job(api, headers, created["job_id"]))["status"] == "succeeded"
        assert jobs[0]["position"] == 10 and jobs[-1]["position"] is None

        accepted = await api.http.post(
            f"/api/v1/courses/{course_id}/structure", json={"strategy": "default"}, headers=headers
        )
        job = await wait_for_job(api, headers, accepted.json()["job_id"])
        assert job["status"] == "succeeded", job
        course = (await api.http.get(f"/api/v1/courses/{course_id}", headers=headers)).json()
        titles = [m["title"] for m in course["structure"]["modules"]]
        first_headings = [c.read_text().splitlines()[0].lstrip("# ").strip() for c in chapters]
        assert titles == [*reversed(first_headings), "review"]


async def test_a_position_that_is_not_a_number_is_422_and_stores_nothing(
    database_url: str, tmp_path: Path
) -> None:
    async with embedded_client(database_url, tmp_path) as api:
        headers, course_id = await new_course(api)
        url = f"/api/v1/courses/{course_id}/materials"
        for position in ("first", "-1"):
            response = await api.http.post(
                url,
                data={"source_type": "text", "position": position},
                files={"file": ("a.md", b"# A\n\nText.\n", "text/markdown")},
                headers=headers,
            )
            assert response.status_code == 422, response.text
            assert "position" in response.json()["detail"][0]["msg"]
        url_material = await api.http.post(
            url,
            json={"source_type": "web", "source_url": "https://example.com/", "position": 2},
            headers=headers,
        )
        assert url_material.json()["position"] == 2
        listing = (await api.http.get(url, headers=headers)).json()
        assert [m["position"] for m in listing["items"]] == [2]
        assert not list((tmp_path).rglob("a.md"))


async def test_structure_while_materials_process_is_409_or_waits_for_them(
    database_url: str, tmp_path: Path
) -> None:
    async with embedded_client(database_url, tmp_path) as api:
        headers, course_id = await new_course(api)
        chapter = sorted(TUTORIAL.glob("*.md"))[0]
        done = await upload(api, headers, course_id, chapter.name, chapter.read_bytes())
        assert (await wait_for_job(api, headers, done["job_id"]))["status"] == "succeeded"
        # A material still on its way: no job processes it until the test says so.
        me = (await api.http.get("/api/v1/me", headers=headers)).json()
        pending = Material(
            course_id=uuid.UUID(course_id),
            tenant_id=uuid.UUID(me["tenant_id"]),
            source_type="text",
            filename="later.md",
            status="processing",
        )
        async with api.db.sessions() as session:
            session.add(pending)
            await session.commit()
        structure_url = f"/api/v1/courses/{course_id}/structure"

        refused = await api.http.post(structure_url, json={}, headers=headers)
        assert refused.status_code == 409
        assert str(pending.id) in refused.json()["detail"]
        assert "later.md" in refused.json()["detail"]
        assert '"wait_for_materials": true' in refused.json()["detail"]

        accepted = await api.http.post(
            structure_url, json={"wait_for_materials": True}, headers=headers
        )
        assert accepted.status_code == 202
        job_url = f"/api/v1/jobs/{accepted.json()['job_id']}"
        await asyncio.sleep(1.5)
        waiting = (await api.http.get(job_url, headers=headers)).json()
        assert waiting["status"] in ("queued", "running"), waiting
        assert waiting["attempts"] <= 1

        later = SourceDocument(
            source_type="text",
            title="Later",
            chunks=[Chunk(kind=ChunkKind.PARAGRAPH, text="A tag is a name for a commit.")],
        )
        async with api.db.sessions() as session:
            await session.execute(
                update(Material)
                .where(Material.id == pending.id)
                .values(status="done", document=later.model_dump(mode="json"))
            )
            await session.commit()
        job = await wait_for_job(api, headers, accepted.json()["job_id"])
        assert job["status"] == "succeeded", job
        assert job["attempts"] == 1
        used = {material["id"] for material in job["result"]["materials"]}
        assert used == {done["id"], str(pending.id)}
