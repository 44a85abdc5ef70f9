"""Teacher reviews: stored beside the verdict, calibrating the grader, summed up as agreement."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from tests.conftest import ApiClient
from tests.jobs.conftest import embedded_client, wait_for_job
from tests.mentoring.conftest import Seeded, seed_course

ANSWERS = [
    "A function calls itself, and a base case stops the calls.",
    "A function that calls itself.",
    "It is a loop.",
]


async def grade_batch(api: ApiClient, seeded: Seeded, answers: list[str]) -> list[dict[str, Any]]:
    accepted = await api.http.post(
        f"/api/v1/exercises/{seeded.exercise_id}/submissions/batch",
        json={
            "submissions": [{"learner_ref": f"l-{n}", "answer": a} for n, a in enumerate(answers)]
        },
        headers=seeded.headers,
    )
    assert accepted.status_code == 202, accepted.text
    job = await wait_for_job(api, seeded.headers, accepted.json()["job_id"])
    assert job["status"] == "succeeded", job
    return [
        (await api.http.get(f"/api/v1/submissions/{i}", headers=seeded.headers)).json()
        for i in accepted.json()["ids"]
    ]


async def review(api: ApiClient, seeded: Seeded, submission_id: str, score: float) -> Any:
    return await api.http.put(
        f"/api/v1/submissions/{submission_id}/review",
        json={"score": score, "comment": "checked"},
        headers=seeded.headers,
    )


async def test_review_outside_the_points_is_422_and_stores_nothing(
    database_url: str, tmp_path: Path
) -> None:
    async with embedded_client(database_url, tmp_path) as api:
        seeded = await seed_course(api)
        [submission] = await grade_batch(api, seeded, ANSWERS[:1])
        for bad in (-1, 5.5):
            refused = await review(api, seeded, submission["id"], bad)
            assert refused.status_code == 422, refused.text
            assert "between 0 and 5" in str(refused.json()["detail"])
        read = await api.http.get(f"/api/v1/submissions/{submission['id']}", headers=seeded.headers)
        assert read.json()["review"] is None
        stored = await review(api, seeded, submission["id"], 4)
        assert stored.status_code == 200
        assert stored.json()["review"]["score"] == 4
        assert stored.json()["review"]["comment"] == "checked"
        assert stored.json()["verdict"]["score"] == submission["verdict"]["score"]
        check_only = {"X-API-Key": await api.new_key("check")}
        forbidden = await api.http.put(
            f"/api/v1/submissions/{submission['id']}/review", json={"score": 1}, headers=check_only
        )
        assert forbidden.status_code == 403


async def test_reviews_calibrate_later_gradings_of_the_exercise(
    database_url: str, tmp_path: Path
) -> None:
    # A strict teacher: this short answer is worth 1 point, whatever its coverage says.
    answer = "A function that calls itself."
    async with embedded_client(database_url, tmp_path) as api:
        seeded = await seed_course(api)
        first = await grade_batch(api, seeded, [answer, answer + " Yes."])
        for submission in first:
            assert (await review(api, seeded, submission["id"], 1)).status_code == 200
        [later] = await grade_batch(api, seeded, [answer])
        assert later["verdict"]["score"] < first[0]["verdict"]["score"]


async def test_agreement_report_per_exercise_and_overall(database_url: str, tmp_path: Path) -> None:
    async with embedded_client(database_url, tmp_path) as api:
        seeded = await seed_course(api)
        url = f"/api/v1/courses/{seeded.course_id}/grading/agreement"
        empty = (await api.http.get(url, headers=seeded.headers)).json()
        assert empty["overall"] == {
            "reviewed": 0,
            "pearson_r": None,
            "rmse": None,
            "label_agreement": None,
            "qwk": None,
        }
        graded = await grade_batch(api, seeded, ANSWERS)
        machine = [s["verdict"]["score"] for s in graded]
        assert len(set(machine)) > 1, machine
        for submission, score in zip(graded, machine, strict=True):
            await review(api, seeded, submission["id"], score)
        agreeing = (await api.http.get(url, headers=seeded.headers)).json()
        assert agreeing["overall"]["reviewed"] == 3
        assert math.isclose(agreeing["overall"]["pearson_r"], 1.0)
        assert agreeing["overall"]["rmse"] == 0
        assert agreeing["overall"]["label_agreement"] == 1
        assert agreeing["overall"]["qwk"] == 1
        assert [e["exercise_id"] for e in agreeing["exercises"]] == [seeded.exercise_id]

        # The teacher gives the best answer 2 points fewer: RMSE is sqrt(4 / 3).
        await review(api, seeded, graded[0]["id"], machine[0] - 2)
        differing = (await api.http.get(url, headers=seeded.headers)).json()["overall"]
        assert math.isclose(differing["rmse"], math.sqrt(4 / 3))
        assert differing["qwk"] < 1

        intruder = {"X-API-Key": await api.new_key()}
        assert (await api.http.get(url, headers=intruder)).status_code == 404
