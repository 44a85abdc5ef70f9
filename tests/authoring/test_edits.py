"""Editing the draft: single edits, batches (atomic), If-Match, and every refused input."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from tests.authoring.conftest import Course2x2, seed_course
from tests.conftest import ApiClient


def lessons(course: dict[str, Any]) -> list[dict[str, Any]]:
    return [lesson for module in course["structure"]["modules"] for lesson in module["lessons"]]


async def test_edits_keep_ids_mark_origins_and_make_versions(client: ApiClient) -> None:
    seeded = await seed_course(client)
    course = await seeded.read(client)
    assert course["version"] == 1 and course["published_version"] is None
    first = course["structure"]["modules"][0]
    lesson = first["lessons"][0]
    assert lesson["origin"] == "generated"

    renamed = await client.http.patch(
        f"{seeded.base}/lessons/{lesson['id']}",
        json={"title": "Recursion, by hand"},
        headers={**seeded.headers, "If-Match": '"1"'},
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.headers["ETag"] == '"2"'
    assert renamed.json()["origin"] == "edited" and renamed.json()["id"] == lesson["id"]

    created = await client.http.post(
        f"{seeded.base}/concepts",
        json={
            "lesson_id": lesson["id"],
            "title": "Base case",
            "definition": "Where it stops.",
            "position": 1,
            "page_references": [{"material_id": seeded.material_id, "page": 3}],
        },
        headers={**seeded.headers, "If-Match": renamed.headers["ETag"]},
    )
    assert created.status_code == 201, created.text
    assert created.json()["origin"] == "authored" and created.json()["position"] == 1

    second_module = course["structure"]["modules"][1]
    moved = await client.http.patch(
        f"{seeded.base}/lessons/{second_module['lessons'][0]['id']}",
        json={"module_id": first["id"], "position": 1},
        headers={**seeded.headers, "If-Match": created.headers["ETag"]},
    )
    assert moved.status_code == 200, moved.text

    after = await seeded.read(client)
    assert after["version"] == 4
    titles = [lesson["title"] for lesson in after["structure"]["modules"][0]["lessons"]]
    assert titles == ["Lesson 2.1", "Recursion, by hand", "Lesson 1.2"]
    assert [c["title"] for c in after["structure"]["modules"][0]["lessons"][1]["concepts"]] == [
        "Base case",
        "Topic 1.1",
    ]
    # Items keep their ids across edits; the lesson endpoint serves the same draft.
    assert {lesson["id"] for lesson in lessons(after)} == {
        lesson["id"] for lesson in lessons(course)
    }
    one = await client.http.get(f"{seeded.base}/lessons/{lesson['id']}", headers=seeded.headers)
    assert one.json()["title"] == "Recursion, by hand"

    versions = await client.http.get(f"{seeded.base}/versions", headers=seeded.headers)
    assert [(v["number"], v["kind"]) for v in versions.json()["items"]] == [
        (4, "edited"),
        (3, "edited"),
        (2, "edited"),
        (1, "generated"),
    ]
    assert versions.json()["items"][-1]["key_prefix"] == "seed"
    assert versions.json()["items"][0]["key_prefix"].startswith("cs_live_")
    assert versions.json()["items"][0]["fingerprints"] == {
        seeded.material_id: versions.json()["items"][-1]["fingerprints"][seeded.material_id]
    }


async def test_a_batch_applies_all_or_nothing(client: ApiClient) -> None:
    seeded = await seed_course(client)
    course = await seeded.read(client)
    module_1, module_2 = course["structure"]["modules"]
    own_id = str(uuid.uuid4())
    good = [
        {"op": "create", "kind": "module", "id": own_id, "fields": {"title": "Extra"}},
        {"op": "move", "kind": "lesson", "id": module_1["lessons"][1]["id"],
         "fields": {"module_id": own_id}},
        {"op": "update", "kind": "exercise", "id": module_2["lessons"][0]["exercises"][0]["id"],
         "fields": {"criteria": ["Names it", "Gives an example"], "max_points": 10}},
        {"op": "delete", "kind": "module", "id": module_2["id"]},
    ]  # fmt: skip
    refused = await client.http.post(
        f"{seeded.base}/structure/edits",
        json={"edits": [*good, {"op": "delete", "kind": "lesson", "id": str(uuid.uuid4())}]},
        headers=await seeded.if_match(client),
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["loc"] == ["body", "edits", 4, "id"]
    untouched = await seeded.read(client)
    assert untouched["version"] == 1 and untouched["structure"] == course["structure"]

    applied = await client.http.post(
        f"{seeded.base}/structure/edits",
        json={"edits": good},
        headers=await seeded.if_match(client),
    )
    assert applied.status_code == 200, applied.text
    assert applied.json()["version"] == 2 and applied.headers["ETag"] == '"2"'
    assert applied.json()["results"][0]["id"] == own_id
    after = (await seeded.read(client))["structure"]["modules"]
    assert [m["title"] for m in after] == ["Module 1", "Extra"]
    assert [lesson["title"] for lesson in after[1]["lessons"]] == ["Lesson 1.2"]


async def test_if_match_is_required_and_must_be_current(client: ApiClient) -> None:
    seeded = await seed_course(client)
    lesson = lessons(await seeded.read(client))[0]
    url = f"{seeded.base}/lessons/{lesson['id']}"
    missing = await client.http.patch(url, json={"title": "A"}, headers=seeded.headers)
    assert missing.status_code == 428 and "If-Match" in missing.json()["detail"]
    mine = await client.http.patch(
        url, json={"title": "Mine"}, headers={**seeded.headers, "If-Match": '"1"'}
    )
    assert mine.status_code == 200
    theirs = await client.http.patch(
        url, json={"title": "Theirs"}, headers={**seeded.headers, "If-Match": '"1"'}
    )
    assert theirs.status_code == 412 and "version 2" in theirs.json()["detail"]
    junk = await client.http.patch(
        url, json={"title": "Theirs"}, headers={**seeded.headers, "If-Match": "abc"}
    )
    assert junk.status_code == 412
    assert lessons(await seeded.read(client))[0]["title"] == "Mine"


async def test_concurrent_edits_on_one_etag_never_both_win(client: ApiClient) -> None:
    seeded = await seed_course(client)
    lesson = lessons(await seeded.read(client))[0]
    headers = {**seeded.headers, "If-Match": '"1"'}
    answers = await asyncio.gather(
        *(
            client.http.patch(
                f"{seeded.base}/lessons/{lesson['id']}", json={"title": f"T{n}"}, headers=headers
            )
            for n in range(4)
        )
    )
    codes = sorted(a.status_code for a in answers)
    assert codes.count(200) == 1 and set(codes) <= {200, 412, 503}, codes
    assert (await seeded.read(client))["version"] == 2


async def test_bad_edits_are_refused_and_change_nothing(client: ApiClient) -> None:
    seeded = await seed_course(client)
    course = await seeded.read(client)
    module_1, module_2 = course["structure"]["modules"]
    lesson = module_1["lessons"][0]
    concept = lesson["concepts"][0]
    cases: list[tuple[str, str, Any, int]] = [
        # A reference to a page the material does not have, or to a material not in the course.
        ("patch", f"concepts/{concept['id']}",
         {"page_references": [{"material_id": seeded.material_id, "page": 9}]}, 422),
        ("post", "concepts", {"lesson_id": lesson["id"], "title": "X", "definition": "Y",
         "page_references": [{"material_id": str(uuid.uuid4()), "page": 1}]}, 422),
        ("patch", f"lessons/{lesson['id']}", {"video_start": "00:00:10"}, 422),
        # Parents that do not exist, or are of the wrong kind (a cycle).
        ("post", "lessons", {"module_id": str(uuid.uuid4()), "title": "X"}, 422),
        ("patch", f"lessons/{lesson['id']}", {"module_id": lesson["id"]}, 422),
        ("patch", f"concepts/{concept['id']}", {"lesson_id": module_1["id"]}, 422),
        ("patch", f"lessons/{lesson['id']}", {"position": 7}, 422),
        ("patch", f"lessons/{lesson['id']}", {"title": None}, 422),
        ("patch", f"lessons/{lesson['id']}", {"title": "  "}, 422),
        ("post", "exercises", {"lesson_id": lesson["id"], "description": "X",
         "concept_ids": [str(uuid.uuid4())]}, 422),
        ("post", "exercises", {"lesson_id": lesson["id"], "description": "X", "max_points": 0},
         422),
        ("patch", f"modules/{uuid.uuid4()}", {"title": "X"}, 404),
        ("delete", f"exercises/{uuid.uuid4()}", None, 404),
    ]  # fmt: skip
    headers = await seeded.if_match(client)
    for method, path, body, expected in cases:
        response = await client.http.request(
            method, f"{seeded.base}/{path}", json=body, headers=headers
        )
        assert response.status_code == expected, (method, path, response.text)
    # Moving every lesson out of a module leaves it empty: 422; deleting it is fine.
    empties = {
        "edits": [
            {
                "op": "move",
                "kind": "lesson",
                "id": item["id"],
                "fields": {"module_id": module_1["id"]},
            }
            for item in module_2["lessons"]
        ]
    }
    emptied = await client.http.post(
        f"{seeded.base}/structure/edits", json=empties, headers=headers
    )
    assert emptied.status_code == 422 and "without lessons" in emptied.text
    bad_op = await client.http.post(
        f"{seeded.base}/structure/edits",
        json={"edits": [{"op": "move", "kind": "lesson", "id": lesson["id"],
                         "fields": {"title": "not a move"}}]},
        headers=headers,
    )  # fmt: skip
    assert bad_op.status_code == 422
    check_only = {"X-API-Key": await client.new_key("check")}
    refused = await client.http.patch(
        f"{seeded.base}/lessons/{lesson['id']}",
        json={"title": "X"},
        headers={**check_only, "If-Match": '"1"'},
    )
    assert refused.status_code == 403
    after = await seeded.read(client)
    assert after["version"] == 1 and after["structure"] == course["structure"]
    versions = await client.http.get(f"{seeded.base}/versions", headers=seeded.headers)
    assert len(versions.json()["items"]) == 1


async def test_a_course_is_authored_from_nothing(client: ApiClient) -> None:
    headers = {"X-API-Key": await client.new_key("prep")}
    created = await client.http.post("/api/v1/courses", json={"title": "Blank"}, headers=headers)
    base = f"/api/v1/courses/{created.json()['id']}"
    module = await client.http.post(
        f"{base}/modules", json={"title": "One"}, headers={**headers, "If-Match": '"0"'}
    )
    assert module.status_code == 201, module.text
    lesson = await client.http.post(
        f"{base}/lessons",
        json={"module_id": module.json()["id"], "title": "First"},
        headers={**headers, "If-Match": module.headers["ETag"]},
    )
    assert lesson.status_code == 201, lesson.text
    course = (await client.http.get(base, headers=headers)).json()
    assert course["version"] == 2
    assert course["structure"]["title"] == "Blank"
    assert course["structure"]["modules"][0]["lessons"][0]["origin"] == "authored"


async def test_deleting_a_generated_item_leaves_a_tombstone(client: ApiClient) -> None:
    from sqlalchemy import select

    from course_supporter.authoring.models import StructureTombstone

    seeded = await seed_course(client)
    module = (await seeded.read(client))["structure"]["modules"][1]
    deleted = await client.http.delete(
        f"{seeded.base}/modules/{module['id']}", headers=await seeded.if_match(client)
    )
    assert deleted.status_code == 204 and deleted.headers["ETag"] == '"2"'
    async with client.db.sessions() as session:
        stones = (
            await session.scalars(
                select(StructureTombstone).where(
                    StructureTombstone.course_id == uuid.UUID(seeded.course_id)
                )
            )
        ).all()
    # The module and every generated item that went with it: none of them comes back.
    assert sorted((s.kind, s.match_key) for s in stones) == [
        ("concept", "topic 2.1"),
        ("concept", "topic 2.2"),
        ("exercise", "explain topic 2.1."),
        ("exercise", "explain topic 2.2."),
        ("lesson", "lesson 2.1"),
        ("lesson", "lesson 2.2"),
        ("module", "module 2"),
    ]
    assert [m["title"] for m in (await seeded.read(client))["structure"]["modules"]] == ["Module 1"]


async def _publish(client: ApiClient, seeded: Course2x2, version: int | None = None) -> Any:
    body = {} if version is None else {"version": version}
    return await client.http.post(f"{seeded.base}/publication", json=body, headers=seeded.headers)
