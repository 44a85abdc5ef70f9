"""Regeneration that keeps the author's fixes, staleness after a replaced file, readable views."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from tests.conftest import ApiClient
from tests.jobs.conftest import embedded_client, new_course, upload, wait_for_job

TUTORIAL = Path(__file__).parents[1] / "data" / "tutorial"


async def _generated_course(api: ApiClient) -> tuple[dict[str, str], str, list[dict[str, Any]]]:
    headers, course_id = await new_course(api)
    materials = []
    for chapter in sorted(TUTORIAL.glob("*.md"))[:3]:
        created = await upload(api, headers, course_id, chapter.name, chapter.read_bytes())
        assert (await wait_for_job(api, headers, created["job_id"]))["status"] == "succeeded"
        materials.append(created)
    accepted = await api.http.post(
        f"/api/v1/courses/{course_id}/structure", json={}, headers=headers
    )
    assert (await wait_for_job(api, headers, accepted.json()["job_id"]))["status"] == "succeeded"
    return headers, course_id, materials


async def _course(api: ApiClient, headers: dict[str, str], course_id: str) -> dict[str, Any]:
    response = await api.http.get(f"/api/v1/courses/{course_id}", headers=headers)
    assert response.status_code == 200, response.text
    course: dict[str, Any] = response.json()
    return course


def _etag(course: dict[str, Any]) -> dict[str, str]:
    return {"If-Match": f'"{course["version"]}"'}


async def test_regenerating_a_module_keeps_fixes_and_leaves_neighbours_alone(
    database_url: str, tmp_path: Path
) -> None:
    async with embedded_client(database_url, tmp_path) as api:
        headers, course_id, _ = await _generated_course(api)
        base = f"/api/v1/courses/{course_id}"
        course = await _course(api, headers, course_id)
        first, second, third = course["structure"]["modules"]
        lesson = second["lessons"][0]
        fixed, deleted = lesson["concepts"][0], lesson["concepts"][1]

        # Three fixes by hand: an edited definition, an authored concept, a deleted one.
        edit = await api.http.patch(
            f"{base}/concepts/{fixed['id']}",
            json={"definition": "The author's own definition."},
            headers={**headers, **_etag(course)},
        )
        assert edit.status_code == 200, edit.text
        course = await _course(api, headers, course_id)
        authored = await api.http.post(
            f"{base}/concepts",
            json={"lesson_id": lesson["id"], "title": "Author's aside", "definition": "Mine."},
            headers={**headers, **_etag(course)},
        )
        assert authored.status_code == 201, authored.text
        course = await _course(api, headers, course_id)
        removed = await api.http.delete(
            f"{base}/concepts/{deleted['id']}", headers={**headers, **_etag(course)}
        )
        assert removed.status_code == 204, removed.text
        before = await _course(api, headers, course_id)

        accepted = await api.http.post(
            f"{base}/modules/{second['id']}/regenerate",
            json={"instructions": "Fewer concepts, more exercises."},
            headers=headers,
        )
        assert accepted.status_code == 202, accepted.text
        job = await wait_for_job(api, headers, accepted.json()["job_id"])
        assert job["status"] == "succeeded", job
        assert job["result"]["instructions"] == (
            "ignored: the offline structurer takes no instructions"
        )

        after = await _course(api, headers, course_id)
        assert after["version"] == before["version"] + 1
        modules = after["structure"]["modules"]
        assert modules[0] == before["structure"]["modules"][0]
        assert modules[2] == before["structure"]["modules"][2]
        assert [m["id"] for m in modules] == [first["id"], second["id"], third["id"]]
        concepts = [c for les in modules[1]["lessons"] for c in les["concepts"]]
        kept = {c["id"]: c for c in concepts}
        assert kept[fixed["id"]]["definition"] == "The author's own definition."
        assert kept[fixed["id"]]["origin"] == "edited"
        assert kept[authored.json()["id"]]["origin"] == "authored"
        assert deleted["title"] not in {c["title"] for c in concepts}
        assert any(c["origin"] == "generated" for c in concepts)

        versions = (await api.http.get(f"{base}/versions", headers=headers)).json()["items"]
        assert versions[0]["kind"] == "regenerated"
        # Same materials, same offline structurer: the diff says nothing changed, because the
        # regenerated items took over their twins' ids instead of being removed and re-added.
        diff = await api.http.get(
            f"{base}/versions/{before['version']}/diff/{after['version']}", headers=headers
        )
        assert diff.status_code == 200, diff.text
        assert {k: diff.json()[k] for k in ("added", "removed", "changed", "moved")} == {
            "added": [], "removed": [], "changed": [], "moved": []
        }  # fmt: skip

        # The whole course again: the fixes survive that too, the deleted concept stays away.
        whole = await api.http.post(f"{base}/structure", json={}, headers=headers)
        assert (await wait_for_job(api, headers, whole.json()["job_id"]))["status"] == "succeeded"
        final = await _course(api, headers, course_id)
        concepts = [
            c
            for m in final["structure"]["modules"]
            for les in m["lessons"]
            for c in les["concepts"]
        ]
        by_id = {c["id"]: c for c in concepts}
        assert by_id[fixed["id"]]["definition"] == "The author's own definition."
        assert authored.json()["id"] in by_id
        assert deleted["title"] not in {c["title"] for c in concepts}


async def test_regenerating_one_lesson_and_bad_requests(database_url: str, tmp_path: Path) -> None:
    async with embedded_client(database_url, tmp_path) as api:
        headers, course_id, _ = await _generated_course(api)
        base = f"/api/v1/courses/{course_id}"
        course = await _course(api, headers, course_id)
        module = course["structure"]["modules"][1]
        lesson = module["lessons"][1]
        neighbour = module["lessons"][0]

        accepted = await api.http.post(f"{base}/lessons/{lesson['id']}/regenerate", headers=headers)
        assert accepted.status_code == 202, accepted.text
        job = await wait_for_job(api, headers, accepted.json()["job_id"])
        assert job["status"] == "succeeded", job
        assert job["result"]["instructions"] is None
        after = (await _course(api, headers, course_id))["structure"]["modules"][1]
        assert after["lessons"][0] == neighbour
        assert after["lessons"][1]["id"] == lesson["id"]
        assert after["lessons"][1]["concepts"]

        unknown = await api.http.post(
            f"{base}/modules/{uuid.uuid4()}/regenerate", json={}, headers=headers
        )
        assert unknown.status_code == 404
        assert "Module not found" in unknown.text
        a_lesson_as_module = await api.http.post(
            f"{base}/modules/{lesson['id']}/regenerate", json={}, headers=headers
        )
        assert a_lesson_as_module.status_code == 404
        intruder = {"X-API-Key": await api.new_key()}
        stranger = await api.http.post(
            f"{base}/modules/{module['id']}/regenerate", json={}, headers=intruder
        )
        assert stranger.status_code == 404
        too_long = await api.http.post(
            f"{base}/modules/{module['id']}/regenerate",
            json={"instructions": "x" * 2001},
            headers=headers,
        )
        assert too_long.status_code == 422
        assert too_long.json()["detail"][0]["loc"] == ["body", "instructions"]
        check_key = {"X-API-Key": await api.new_key("check")}
        forbidden = await api.http.post(
            f"{base}/modules/{module['id']}/regenerate", json={}, headers=check_key
        )
        assert forbidden.status_code in {403, 404}
        final = await _course(api, headers, course_id)
        assert final["version"] == course["version"] + 1  # only the lesson regeneration counted


async def test_a_replaced_file_makes_the_course_stale_until_regenerated(
    database_url: str, tmp_path: Path
) -> None:
    async with embedded_client(database_url, tmp_path) as api:
        headers, course_id, materials = await _generated_course(api)
        base = f"/api/v1/courses/{course_id}"
        course = await _course(api, headers, course_id)
        assert course["stale"] is False
        assert course["stale_materials"] == {"added": [], "changed": [], "removed": []}
        version = course["version"]

        target = materials[0]
        replaced = await api.http.put(
            f"{base}/materials/{target['id']}",
            files={"file": ("01-new.md", b"# Getting Started\n\nA new text.\n", "text/markdown")},
            headers=headers,
        )
        assert replaced.status_code == 202, replaced.text
        body = replaced.json()
        assert body["id"] == target["id"] and body["status"] == "pending"
        assert body["job_id"] != target["job_id"]
        stale = await _course(api, headers, course_id)
        assert stale["stale"] is True
        assert stale["stale_materials"]["changed"] == [target["id"]]
        assert stale["version"] == version  # nothing regenerates by itself

        assert (await wait_for_job(api, headers, body["job_id"]))["status"] == "succeeded"
        done = await _course(api, headers, course_id)
        assert done["stale"] is True and done["stale_materials"]["changed"] == [target["id"]]
        assert done["version"] == version

        regenerate = await api.http.post(f"{base}/structure", json={}, headers=headers)
        assert (await wait_for_job(api, headers, regenerate.json()["job_id"]))["status"] == (
            "succeeded"
        )
        fresh = await _course(api, headers, course_id)
        assert fresh["stale"] is False


async def test_replacing_a_pending_or_url_material_is_409(client: ApiClient) -> None:
    headers, course_id = await new_course(client)
    base = f"/api/v1/courses/{course_id}/materials"
    # No worker runs here: the uploaded material stays pending.
    pending = await upload(client, headers, course_id, "a.md", b"# A\n\nText.\n")
    refused = await client.http.put(
        f"{base}/{pending['id']}",
        files={"file": ("b.md", b"# B\n\nOther.\n", "text/markdown")},
        headers=headers,
    )
    assert refused.status_code == 409
    assert "pending" in refused.json()["detail"]
    web = await client.http.post(
        base, json={"source_type": "web", "source_url": "https://example.com/"}, headers=headers
    )
    url_material = await client.http.put(
        f"{base}/{web.json()['id']}",
        files={"file": ("b.md", b"# B\n", "text/markdown")},
        headers=headers,
    )
    assert url_material.status_code == 409
    unknown = await client.http.put(
        f"{base}/{uuid.uuid4()}",
        files={"file": ("b.md", b"# B\n", "text/markdown")},
        headers=headers,
    )
    assert unknown.status_code == 404
    material = await client.http.get(f"{base}/{pending['id']}", headers=headers)
    assert material.json()["filename"] == "a.md"


async def test_outline_views_escape_the_courses_text(database_url: str, tmp_path: Path) -> None:
    async with embedded_client(database_url, tmp_path) as api:
        headers, course_id, _ = await _generated_course(api)
        base = f"/api/v1/courses/{course_id}"
        patched = await api.http.patch(
            base, json={"title": "<script>alert(1)</script> Git"}, headers=headers
        )
        assert patched.status_code == 200
        course = await _course(api, headers, course_id)
        concept = course["structure"]["modules"][0]["lessons"][0]["concepts"][0]
        edit = await api.http.patch(
            f"{base}/concepts/{concept['id']}",
            json={"definition": 'Uses <b onclick="x()">tags</b> & more.'},
            headers={**headers, **_etag(course)},
        )
        assert edit.status_code == 200, edit.text

        page = await api.http.get(base, headers={**headers, "Accept": "text/html"})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "<script>" not in page.text and "&lt;script&gt;" in page.text
        assert "<b onclick" not in page.text and "&lt;b onclick=&quot;x()&quot;&gt;" in page.text
        assert "<h2>1. " in page.text and "<li><strong>" in page.text

        markdown = await api.http.get(
            base, headers={**headers, "Accept": "text/markdown, application/json;q=0.5"}
        )
        assert markdown.headers["content-type"].startswith("text/markdown")
        text = markdown.text
        assert text.startswith("# \\<script\\>alert(1)\\</script\\> Git\n")
        assert "\\<b onclick" in text
        assert "## 1. " in text and "### 1.1 " in text
        assert f"**{concept['title']}**" in text

        as_json = await api.http.get(
            base, headers={**headers, "Accept": "application/json, text/html;q=0.1"}
        )
        assert as_json.headers["content-type"] == "application/json"
