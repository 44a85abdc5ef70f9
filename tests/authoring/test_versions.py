"""Versions: list, read, diff, restore, prune; publication and what check keys read."""

from __future__ import annotations

from typing import Any

from tests.authoring.conftest import Course2x2, seed_course
from tests.conftest import ApiClient


async def _rename_first_lesson(client: ApiClient, seeded: Course2x2, title: str) -> Any:
    course = await seeded.read(client)
    lesson = course["structure"]["modules"][0]["lessons"][0]
    response = await client.http.patch(
        f"{seeded.base}/lessons/{lesson['id']}",
        json={"title": title},
        headers={**seeded.headers, "If-Match": f'"{course["version"]}"'},
    )
    assert response.status_code == 200, response.text
    return response


async def test_diff_and_restore(client: ApiClient) -> None:
    seeded = await seed_course(client)
    original = await seeded.read(client)
    module_1, module_2 = original["structure"]["modules"]
    edits = [
        {"op": "update", "kind": "lesson", "id": module_1["lessons"][0]["id"],
         "fields": {"title": "Renamed"}},
        {"op": "move", "kind": "lesson", "id": module_2["lessons"][1]["id"],
         "fields": {"module_id": module_1["id"], "position": 1}},
        {"op": "delete", "kind": "exercise", "id": module_2["lessons"][0]["exercises"][0]["id"]},
        {"op": "create", "kind": "concept",
         "fields": {"lesson_id": module_2["lessons"][0]["id"], "title": "New", "definition": "D"}},
    ]  # fmt: skip
    applied = await client.http.post(
        f"{seeded.base}/structure/edits",
        json={"edits": edits},
        headers={**seeded.headers, "If-Match": '"1"'},
    )
    assert applied.status_code == 200, applied.text
    new_concept = applied.json()["results"][3]["id"]

    diff = (
        await client.http.get(f"{seeded.base}/versions/1/diff/2", headers=seeded.headers)
    ).json()
    assert [(a["kind"], a["id"]) for a in diff["added"]] == [("concept", new_concept)]
    assert [r["kind"] for r in diff["removed"]] == ["exercise"]
    changed = {c["id"]: [(f["field"], f["old"], f["new"]) for f in c["changes"]]
               for c in diff["changed"]}  # fmt: skip
    assert changed == {
        module_1["lessons"][0]["id"]: [
            ("origin", "generated", "edited"),
            ("title", "Lesson 1.1", "Renamed"),
        ],
        # Moved by hand: kept where it is when the course is regenerated.
        module_2["lessons"][1]["id"]: [("origin", "generated", "edited")],
    }
    moved = {m["id"]: m for m in diff["moved"]}
    lesson_moved = moved[module_2["lessons"][1]["id"]]
    assert lesson_moved["old_parent_id"] == module_2["id"]
    assert lesson_moved["new_parent_id"] == module_1["id"]
    assert (lesson_moved["old_position"], lesson_moved["new_position"]) == (2, 1)
    # A sibling pushed down by the move is not reported as moved itself.
    assert set(moved) == {module_2["lessons"][1]["id"]}

    version_1 = await client.http.get(f"{seeded.base}/versions/1", headers=seeded.headers)
    assert version_1.status_code == 200
    assert version_1.json()["structure"]["modules"] == original["structure"]["modules"]

    restored = await client.http.post(f"{seeded.base}/versions/1/restore", headers=seeded.headers)
    assert restored.status_code == 201, restored.text
    assert restored.json()["number"] == 3 and restored.json()["kind"] == "restored"
    assert restored.headers["ETag"] == '"3"'
    now = await seeded.read(client)
    assert now["version"] == 3
    assert now["structure"]["modules"] == original["structure"]["modules"]
    # The rows are back with their ids: the lesson endpoint and further edits work on them.
    lesson_id = module_2["lessons"][1]["id"]
    one = await client.http.get(f"{seeded.base}/lessons/{lesson_id}", headers=seeded.headers)
    assert one.status_code == 200 and one.json()["module_id"] == module_2["id"]
    await _rename_first_lesson(client, seeded, "After restore")

    for path in ("versions/99", "versions/1/diff/99", "versions/99/diff/1"):
        missing = await client.http.get(f"{seeded.base}/{path}", headers=seeded.headers)
        assert missing.status_code == 404, path
    gone = await client.http.post(f"{seeded.base}/versions/99/restore", headers=seeded.headers)
    assert gone.status_code == 404


async def test_old_versions_are_pruned_but_never_the_published_one(client: ApiClient) -> None:
    client.settings.structure_versions_kept = 3
    seeded = await seed_course(client, keep=3)
    published = await client.http.post(
        f"{seeded.base}/publication", json={"version": 1}, headers=seeded.headers
    )
    assert published.status_code == 200, published.text
    for n in range(4):
        await _rename_first_lesson(client, seeded, f"Title {n}")
    listed = await client.http.get(f"{seeded.base}/versions", headers=seeded.headers)
    items = listed.json()["items"]
    assert [(v["number"], v["published"]) for v in items] == [
        (5, False),
        (4, False),
        (1, True),
    ]
    pruned = await client.http.post(f"{seeded.base}/versions/2/restore", headers=seeded.headers)
    assert pruned.status_code == 404
    page = await client.http.get(f"{seeded.base}/versions?limit=2", headers=seeded.headers)
    assert [v["number"] for v in page.json()["items"]] == [5, 4]
    rest = await client.http.get(
        f"{seeded.base}/versions",
        params={"limit": 2, "cursor": page.json()["next_cursor"]},
        headers=seeded.headers,
    )
    assert [v["number"] for v in rest.json()["items"]] == [1]
    assert rest.json()["next_cursor"] is None


async def test_check_keys_read_only_the_published_version(client: ApiClient) -> None:
    seeded = await seed_course(client)
    tenant = (await client.http.get("/api/v1/me", headers=seeded.headers)).json()["tenant_name"]
    check = {"X-API-Key": await client.new_key("check", tenant=tenant)}
    lesson_id = (await seeded.read(client))["structure"]["modules"][0]["lessons"][0]["id"]

    nothing = await client.http.get(seeded.base, headers=check)
    assert nothing.status_code == 409 and "published" in nothing.json()["detail"]
    no_lesson = await client.http.get(f"{seeded.base}/lessons/{lesson_id}", headers=check)
    assert no_lesson.status_code == 409

    published = await client.http.post(f"{seeded.base}/publication", headers=seeded.headers)
    assert published.status_code == 200, published.text
    assert published.json() == {"published_version": 1, "version": 1}
    await _rename_first_lesson(client, seeded, "Draft title")

    learner_view = await client.http.get(seeded.base, headers=check)
    assert learner_view.status_code == 200
    body = learner_view.json()
    assert body["version"] == 1 and body["published_version"] == 1
    assert body["structure"]["modules"][0]["lessons"][0]["title"] == "Lesson 1.1"
    lesson = await client.http.get(f"{seeded.base}/lessons/{lesson_id}", headers=check)
    assert lesson.json()["title"] == "Lesson 1.1"
    revalidated = await client.http.get(
        seeded.base, headers={**check, "If-None-Match": learner_view.headers["ETag"]}
    )
    assert revalidated.status_code == 304
    picked = await client.http.get(seeded.base, params={"version": 2}, headers=check)
    assert picked.status_code == 403

    draft = await seeded.read(client)
    assert draft["version"] == 2 and draft["published_version"] == 1
    assert draft["structure"]["modules"][0]["lessons"][0]["title"] == "Draft title"
    old = await seeded.read(client, version=1)
    assert old["version"] == 1
    assert old["structure"]["modules"][0]["lessons"][0]["title"] == "Lesson 1.1"
    old_lesson = await client.http.get(
        f"{seeded.base}/lessons/{lesson_id}", params={"version": 1}, headers=seeded.headers
    )
    assert old_lesson.json()["title"] == "Lesson 1.1"
    missing = await client.http.get(seeded.base, params={"version": 9}, headers=seeded.headers)
    assert missing.status_code == 404

    # Publishing the latest version shows the edit; unpublishing hides the course again.
    again = await client.http.post(f"{seeded.base}/publication", json={}, headers=seeded.headers)
    assert again.json()["published_version"] == 2
    learner_view = await client.http.get(seeded.base, headers=check)
    assert learner_view.json()["structure"]["modules"][0]["lessons"][0]["title"] == "Draft title"
    unpublished = await client.http.delete(f"{seeded.base}/publication", headers=seeded.headers)
    assert unpublished.status_code == 204
    assert (await client.http.get(seeded.base, headers=check)).status_code == 409
    twice = await client.http.delete(f"{seeded.base}/publication", headers=seeded.headers)
    assert twice.status_code == 409
    unknown = await client.http.post(
        f"{seeded.base}/publication", json={"version": 42}, headers=seeded.headers
    )
    assert unknown.status_code == 404
    refused = await client.http.post(f"{seeded.base}/publication", json={}, headers=check)
    assert refused.status_code == 403


async def test_the_last_module_of_a_published_course_goes_only_after_unpublishing(
    client: ApiClient,
) -> None:
    seeded = await seed_course(client)
    modules = (await seeded.read(client))["structure"]["modules"]
    await client.http.post(f"{seeded.base}/publication", json={}, headers=seeded.headers)
    first = await client.http.delete(
        f"{seeded.base}/modules/{modules[0]['id']}", headers=await seeded.if_match(client)
    )
    assert first.status_code == 204
    last = await client.http.delete(
        f"{seeded.base}/modules/{modules[1]['id']}", headers=await seeded.if_match(client)
    )
    assert last.status_code == 409 and "unpublish" in last.json()["detail"]
    await client.http.delete(f"{seeded.base}/publication", headers=seeded.headers)
    allowed = await client.http.delete(
        f"{seeded.base}/modules/{modules[1]['id']}", headers=await seeded.if_match(client)
    )
    assert allowed.status_code == 204
    assert (await seeded.read(client))["structure"]["modules"] == []
