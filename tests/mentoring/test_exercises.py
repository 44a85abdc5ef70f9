"""Exercises a tenant authors: created, changed and deleted in a lesson, served with the course."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from tests.jobs.conftest import embedded_client, wait_for_job
from tests.mentoring.conftest import seed_course


async def test_authored_exercise_is_served_and_graded(database_url: str, tmp_path: Path) -> None:
    async for api in embedded_client(database_url, tmp_path):
        seeded = await seed_course(api)
        base = f"/api/v1/courses/{seeded.course_id}"
        course = (await api.http.get(base, headers=seeded.headers)).json()
        version = course["structure"]["version"]
        lesson_id = course["structure"]["modules"][0]["lessons"][0]["id"]

        created = await api.http.post(
            f"{base}/exercises",
            json={
                "lesson_id": lesson_id,
                "description": "Name the case that ends a recursion.",
                "criteria": ["Names the base case"],
                "concept_ids": [seeded.base_case_concept_id],
            },
            headers={**seeded.headers, "If-Match": f'"{version}"'},
        )
        assert created.status_code == 201, created.text
        exercise: dict[str, Any] = created.json()
        assert exercise["max_points"] == 5 and exercise["position"] == 3
        assert exercise["origin"] == "authored" and created.headers["ETag"] == f'"{version + 1}"'
        served = (await api.http.get(base, headers=seeded.headers)).json()["structure"]
        assert served["version"] == version + 1
        lesson = served["modules"][0]["lessons"][0]
        assert [e["id"] for e in lesson["exercises"]][-1] == exercise["id"]

        changed = await api.http.patch(
            f"{base}/exercises/{exercise['id']}",
            json={"max_points": 2},
            headers={**seeded.headers, "If-Match": created.headers["ETag"]},
        )
        assert changed.status_code == 200 and changed.json()["max_points"] == 2
        assert changed.json()["criteria"] == ["Names the base case"]
        # Learners answer what is published: the new exercise once its version is.
        unpublished = await api.http.post(
            f"/api/v1/exercises/{exercise['id']}/submissions",
            json={"learner_ref": "l-1", "answer": "It is a loop."},
            headers=seeded.headers,
        )
        assert unpublished.status_code == 409, unpublished.text
        published = await api.http.post(f"{base}/publication", json={}, headers=seeded.headers)
        assert published.status_code == 200, published.text

        accepted = await api.http.post(
            f"/api/v1/exercises/{exercise['id']}/submissions",
            json={"learner_ref": "l-1", "answer": "It is a loop."},
            headers=seeded.headers,
        )
        await wait_for_job(api, seeded.headers, accepted.json()["job_id"])
        verdict = (
            await api.http.get(
                f"/api/v1/submissions/{accepted.json()['id']}", headers=seeded.headers
            )
        ).json()["verdict"]
        assert verdict["max_points"] == 2
        # The linked concept decides where to review, not word overlap.
        assert [r["concept"] for r in verdict["review"]] == ["Base case"]

        deleted = await api.http.delete(
            f"{base}/exercises/{exercise['id']}",
            headers={**seeded.headers, "If-Match": changed.headers["ETag"]},
        )
        assert deleted.status_code == 204
        lesson = (await api.http.get(base, headers=seeded.headers)).json()["structure"]["modules"][
            0
        ]["lessons"][0]
        assert exercise["id"] not in [e["id"] for e in lesson["exercises"]]
        # The learner's graded work outlives the exercise.
        kept = await api.http.get(
            f"/api/v1/submissions/{accepted.json()['id']}", headers=seeded.headers
        )
        assert kept.status_code == 200


async def test_bad_exercises_are_refused(database_url: str, tmp_path: Path) -> None:
    async for api in embedded_client(database_url, tmp_path):
        seeded = await seed_course(api)
        base = f"/api/v1/courses/{seeded.course_id}"
        course = (await api.http.get(base, headers=seeded.headers)).json()
        lesson_id = course["structure"]["modules"][0]["lessons"][0]["id"]
        cases = [
            ({"lesson_id": str(uuid.uuid4()), "description": "x"}, 422),
            ({"lesson_id": lesson_id, "description": "x", "max_points": 0}, 422),
            ({"lesson_id": lesson_id, "description": "  "}, 422),
            ({"lesson_id": lesson_id, "description": "x", "concept_ids": [str(uuid.uuid4())]}, 422),
        ]
        current = {**seeded.headers, "If-Match": f'"{course["structure"]["version"]}"'}
        for body, expected in cases:
            response = await api.http.post(f"{base}/exercises", json=body, headers=current)
            assert response.status_code == expected, (body, response.text)
        check_only = {"X-API-Key": await api.new_key("check")}
        refused = await api.http.post(
            f"{base}/exercises",
            json={"lesson_id": lesson_id, "description": "x"},
            headers={**check_only, "If-Match": current["If-Match"]},
        )
        assert refused.status_code == 403
        served = (await api.http.get(base, headers=seeded.headers)).json()["structure"]
        assert served["version"] == course["structure"]["version"]
        assert len(served["modules"][0]["lessons"][0]["exercises"]) == 2
