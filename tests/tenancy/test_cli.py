"""The admin CLI: tenants and keys, JSON output, clear errors and exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from course_supporter.migrate import upgrade
from tests.api_server import run_api_server


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "course_supporter", *args],
        env={"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin", "HOME": "/tmp"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def cli_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(database_url=url)
    return url


def test_tenant_and_key_lifecycle(cli_db: str) -> None:
    assert cli(cli_db, "tenants", "create", "acme").returncode == 0
    duplicate = cli(cli_db, "tenants", "create", "acme")
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr

    created = cli(
        cli_db,
        "keys",
        "create",
        "--tenant",
        "acme",
        "--scopes",
        "prep",
        "--json",
        "--expires-in",
        "30d",
        "--label",
        "ci",
    )
    assert created.returncode == 0, created.stderr
    issued = json.loads(created.stdout)
    assert issued["key"].startswith("cs_live_") and issued["scopes"] == ["prep"]
    assert issued["expires_at"] is not None

    listed = json.loads(cli(cli_db, "keys", "list", "--tenant", "acme", "--json").stdout)
    assert [key["prefix"] for key in listed["keys"]] == [issued["prefix"]]
    assert issued["key"] not in json.dumps(listed)

    rotated = cli(cli_db, "keys", "rotate", issued["prefix"], "--grace", "1h", "--json")
    assert rotated.returncode == 0, rotated.stderr
    assert json.loads(rotated.stdout)["key"] != issued["key"]

    assert cli(cli_db, "keys", "revoke", issued["prefix"]).returncode == 0
    tenants = json.loads(cli(cli_db, "tenants", "list", "--json").stdout)["tenants"]
    assert [tenant["name"] for tenant in tenants] == ["acme"]
    assert cli(cli_db, "tenants", "deactivate", "acme").returncode == 0
    tenants = json.loads(cli(cli_db, "tenants", "list", "--json").stdout)["tenants"]
    assert tenants[0]["is_active"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["keys", "create", "--tenant", "ghost"], "no tenant named 'ghost'"),
        (["keys", "create", "--tenant", "acme", "--scopes", "prep,admin"], "unknown scope"),
        (["keys", "create", "--tenant", "acme", "--expires-in", "soon"], "bad duration"),
        (["keys", "rotate", "cs_live_ffff", "--grace", "0h"], "bad duration"),
        (["keys", "revoke", "cs_live_ffffffff"], "no API key starts with"),
        (["tenants", "deactivate", "ghost"], "no tenant named"),
    ],
)
def test_bad_input_is_a_clear_error(cli_db: str, args: list[str], message: str) -> None:
    cli(cli_db, "tenants", "create", "acme")
    result = cli(cli_db, *args)
    assert result.returncode != 0
    assert message in result.stderr


def test_rotating_an_expired_key_is_a_one_line_error(cli_db: str) -> None:
    cli(cli_db, "tenants", "create", "acme")
    created = cli(cli_db, "keys", "create", "--tenant", "acme", "--expires-in", "1s", "--json")
    prefix = json.loads(created.stdout)["prefix"]
    time.sleep(1.1)
    rotated = cli(cli_db, "keys", "rotate", prefix, "--grace", "1h")
    assert rotated.returncode == 1
    assert rotated.stdout == ""
    assert re.fullmatch(
        rf"error: key {prefix} expired at [0-9-]+ [0-9:]+ UTC; issue a new key instead\n",
        rotated.stderr,
    )
    listed = json.loads(cli(cli_db, "keys", "list", "--tenant", "acme", "--json").stdout)
    assert len(listed["keys"]) == 1


def test_cli_key_works_against_a_running_api(cli_db: str, tmp_path: Path) -> None:
    cli(cli_db, "tenants", "create", "acme")
    key = json.loads(cli(cli_db, "keys", "create", "--tenant", "acme", "--json").stdout)["key"]
    with run_api_server(tmp_path / "server", DATABASE_URL=cli_db) as server:
        me = httpx.get(f"{server.base_url}/api/v1/me", headers={"X-API-Key": key})
    assert me.status_code == 200
    assert me.json()["tenant_name"] == "acme"
