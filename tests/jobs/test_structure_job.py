"""The whole main job over the API: upload chapters, wait, generate the structure, read it."""

from __future__ import annotations

from pathlib import Path

from tests.jobs.conftest import embedded_client, new_course, upload, wait_for_job

TUTORIAL = Path(__file__).parents[1] / "data" / "tutorial"


async def test_chapters_become_modules_through_the_api(database_url: str, tmp_path: Path) -> None:
    async for api in embedded_client(database_url, tmp_path):
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
