"""The cost report adds up to the logged calls, per tenant and per window."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import uuid
from decimal import Decimal

import pytest

from course_supporter.llm.models import LLMCall
from tests.conftest import ApiClient


def call(tenant_id: uuid.UUID | None, **fields: object) -> LLMCall:
    values: dict[str, object] = {
        "tenant_id": tenant_id,
        "action": "course_structuring",
        "strategy": "default",
        "provider": "openai",
        "model_id": "gpt-x",
        "tokens_in": 1000,
        "tokens_out": 200,
        "latency_ms": 10,
        "cost_usd": Decimal("0.0015"),
        "success": True,
    }
    values.update(fields)
    return LLMCall(**values)


async def test_cost_report_totals_and_breakdowns(client: ApiClient) -> None:
    headers = {"X-API-Key": await client.new_key()}
    me = (await client.http.get("/api/v1/me", headers=headers)).json()
    tenant_id = uuid.UUID(me["tenant_id"])
    other_key = await client.new_key()
    other = (await client.http.get("/api/v1/me", headers={"X-API-Key": other_key})).json()
    day1 = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)
    day2 = dt.datetime(2026, 3, 2, 0, 30, tzinfo=dt.UTC)
    async with client.db.sessions() as session:
        session.add_all(
            [
                call(tenant_id, created_at=day1),
                call(
                    tenant_id,
                    created_at=day2,
                    success=False,
                    cost_usd=Decimal("0.0005"),
                    tokens_out=0,
                    error_message="HTTP 500",
                ),
                call(
                    tenant_id,
                    created_at=day2,
                    provider="local",
                    model_id="offline",
                    cost_usd=Decimal(0),
                    tokens_in=0,
                    tokens_out=0,
                ),
                call(None, created_at=day2),
                call(None, created_at=day2, action="evals"),
                call(uuid.UUID(other["tenant_id"]), created_at=day2, cost_usd=Decimal(5)),
            ]
        )
        await session.commit()
    report = (await client.http.get("/api/v1/reports/cost", headers=headers)).json()
    assert report["total"]["calls"] == 3
    assert report["total"]["failed_calls"] == 1
    assert Decimal(report["total"]["cost_usd"]) == Decimal("0.002")
    assert report["total"]["tokens_in"] == 2000
    assert [(d["key"], d["calls"]) for d in report["by_day"]] == [
        ("2026-03-01", 1),
        ("2026-03-02", 2),
    ]
    by_model = {line["key"]: line for line in report["by_model"]}
    assert by_model["openai:gpt-x"]["calls"] == 2
    assert Decimal(by_model["local:offline"]["cost_usd"]) == 0
    theirs = await client.http.get("/api/v1/reports/cost", headers={"X-API-Key": other_key})
    assert Decimal(theirs.json()["total"]["cost_usd"]) == Decimal(5)
    window = await client.http.get(
        "/api/v1/reports/cost", params={"from": "2026-03-02", "to": "2026-03-02"}, headers=headers
    )
    assert window.json()["total"]["calls"] == 2
    bad = await client.http.get(
        "/api/v1/reports/cost", params={"from": "2026-03-03", "to": "2026-03-02"}, headers=headers
    )
    assert bad.status_code == 422
    assert (
        await client.http.get("/api/v1/reports/cost", params={"from": "yesterday"}, headers=headers)
    ).status_code == 422


def test_report_cost_cli_prints_a_table(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from course_supporter.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'r.db'}"
    upgrade(database_url=url)
    env = {"DATABASE_URL": url, "PATH": "/usr/bin:/bin", "HOME": "/tmp"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "course_supporter", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    table = run("report", "cost")
    assert table.returncode == 0, table.stderr
    assert "calls" in table.stdout and "by model" in table.stdout
    as_json = json.loads(run("report", "cost", "--json").stdout)
    assert as_json["total"]["calls"] == 0
    assert run("report", "cost", "--tenant", "ghost").returncode == 1
    assert run("report", "cost", "--from", "nope").returncode != 0


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"to": "9999-12-31"}, 200),  # the last day there is: no day after it to overflow into
        ({"from": "0001-01-01", "to": "9999-12-31"}, 200),
        ({"to": "0"}, 422),  # not 1970-01-01 from a Unix time
        ({"from": "1700000000"}, 422),
        ({"to": "2026-13-01"}, 422),
    ],
)
async def test_report_days_are_calendar_days_at_any_range(
    client: ApiClient, params: dict[str, str], status: int
) -> None:
    response = await client.http.get(
        "/api/v1/reports/cost", params=params, headers={"X-API-Key": await client.new_key()}
    )
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json()["total"]["cost_usd"] == "0.00000000"
