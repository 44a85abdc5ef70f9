"""The tenant's review threshold: set by the operator, shown in /me, read by the graders."""

from __future__ import annotations

import json
from pathlib import Path

from course_supporter.migrate import upgrade
from course_supporter.tenancy import service as tenancy
from tests.conftest import ApiClient
from tests.jobs.conftest import embedded_client
from tests.mentoring.conftest import Seeded, graded, seed_course
from tests.support import assert_one_line_error, cli

ANSWER = "Recursion is when a function calls itself."


async def set_threshold(api: ApiClient, seeded: Seeded, threshold: float | None) -> None:
    me = (await api.http.get("/api/v1/me", headers=seeded.headers)).json()
    async with api.db.transaction() as session:
        await tenancy.set_review_threshold(session, me["tenant_name"], threshold)


async def test_the_threshold_decides_needs_review_and_shows_in_me(
    database_url: str, tmp_path: Path
) -> None:
    async with embedded_client(database_url, tmp_path, grading_review_below=0.4) as api:
        seeded = await seed_course(api)
        me = await api.http.get("/api/v1/me", headers=seeded.headers)
        assert me.json()["review_threshold"] == 0.4

        await set_threshold(api, seeded, 0.0)
        lenient = await graded(api, seeded, ANSWER)
        assert lenient["verdict"]["needs_review"] is False

        await set_threshold(api, seeded, 1.0)
        assert (await api.http.get("/api/v1/me", headers=seeded.headers)).json()[
            "review_threshold"
        ] == 1.0
        strict = await graded(api, seeded, ANSWER)
        assert strict["verdict"]["confidence"] == lenient["verdict"]["confidence"]
        assert strict["verdict"]["needs_review"] is True

        await set_threshold(api, seeded, None)
        me = await api.http.get("/api/v1/me", headers=seeded.headers)
        assert me.json()["review_threshold"] == 0.4


def test_the_operator_sets_the_threshold_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(database_url=url)
    assert cli(tmp_path, "tenants", "create", "acme", DATABASE_URL=url).returncode == 0
    done = cli(
        tmp_path, "tenants", "set", "acme", "--review-threshold", "0.6", "--json", DATABASE_URL=url
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["review_threshold"] == 0.6
    listed = cli(tmp_path, "tenants", "list", "--json", DATABASE_URL=url)
    assert json.loads(listed.stdout)["tenants"][0]["review_threshold"] == 0.6
    cleared = cli(
        tmp_path, "tenants", "set", "acme", "--review-threshold", "default", DATABASE_URL=url
    )
    assert "review threshold default" in cleared.stdout

    for bad, expected in (("1.5", "between 0 and 1"), ("high", "must be a number")):
        result = cli(
            tmp_path, "tenants", "set", "acme", "--review-threshold", bad, DATABASE_URL=url
        )
        assert_one_line_error(result, expected)
    assert_one_line_error(
        cli(tmp_path, "tenants", "set", "acme", DATABASE_URL=url), "nothing to set"
    )
    assert_one_line_error(
        cli(tmp_path, "tenants", "set", "nobody", "--review-threshold", "0.5", DATABASE_URL=url),
        "no tenant named",
    )
