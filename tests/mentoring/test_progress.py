"""Learner progress: best score per exercise, weak concepts, where to review; erasure."""

from __future__ import annotations

from pathlib import Path

from tests.jobs.conftest import embedded_client, wait_for_job
from tests.mentoring.conftest import seed_course


async def test_progress_shows_best_attempt_weak_concepts_and_erasure(
    database_url: str, tmp_path: Path
) -> None:
    async with embedded_client(database_url, tmp_path) as api:
        seeded = await seed_course(api)
        url = f"/api/v1/courses/{seeded.course_id}/learners/learner-7"
        unknown = await api.http.get(url, headers=seeded.headers)
        assert unknown.status_code == 200
        assert unknown.json()["lessons"] == [] and unknown.json()["submissions"] == 0

        for answer in ("It is a loop.", "A function that calls itself."):
            accepted = await api.http.post(
                f"/api/v1/exercises/{seeded.exercise_id}/submissions",
                json={"learner_ref": "learner-7", "answer": answer},
                headers=seeded.headers,
            )
            assert accepted.status_code == 202
            assert (await wait_for_job(api, seeded.headers, accepted.json()["job_id"]))[
                "status"
            ] == "succeeded"
            last = accepted.json()["id"]
        verdict = (await api.http.get(f"/api/v1/submissions/{last}", headers=seeded.headers)).json()

        progress = (await api.http.get(url, headers=seeded.headers)).json()
        assert progress["submissions"] == 2
        [lesson] = progress["lessons"]
        assert lesson["title"] == "Recursion"
        [exercise] = lesson["exercises"]
        assert exercise["exercise_id"] == seeded.exercise_id
        assert exercise["attempts"] == 2
        assert exercise["best_score"] == verdict["verdict"]["score"]
        assert [w["title"] for w in lesson["weak_concepts"]] == ["Base case"]
        assert [r["page"] for r in lesson["review"]] == [3]

        other_learner = await api.http.get(
            f"/api/v1/courses/{seeded.course_id}/learners/learner-8", headers=seeded.headers
        )
        assert other_learner.json()["lessons"] == []
        intruder = {"X-API-Key": await api.new_key()}
        assert (await api.http.get(url, headers=intruder)).status_code == 404
        assert (await api.http.delete(url, headers=intruder)).status_code == 404

        erased = await api.http.delete(url, headers=seeded.headers)
        assert erased.status_code == 204
        assert (await api.http.get(url, headers=seeded.headers)).json()["submissions"] == 0
        gone = await api.http.get(f"/api/v1/submissions/{last}", headers=seeded.headers)
        assert gone.status_code == 404
