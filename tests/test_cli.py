"""The command line answers like one: a user error is one line on stderr and a non-zero exit."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from course_supporter.migrate import upgrade
from tests.support import assert_one_line_error, cli

PROJECT = Path(__file__).resolve().parents[1]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def migrated(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(database_url=url)
    return url


def test_a_command_in_a_folder_with_no_database_says_to_migrate_and_creates_nothing(
    tmp_path: Path,
) -> None:
    result = cli(tmp_path, "tenants", "list")
    assert_one_line_error(result, "run `course-supporter db upgrade`")
    assert "var/course_supporter.db" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_unmigrated_sqlite_file_says_to_migrate(tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()
    result = cli(tmp_path, "tenants", "list", DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}")
    assert_one_line_error(result, "is not migrated: run `course-supporter db upgrade`")


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{closed_port()}/nowhere"
    for args in (["tenants", "create", "acme"], ["db", "upgrade"]):
        result = cli(tmp_path, *args, DATABASE_URL=url)
        assert_one_line_error(result, "cannot reach the database at postgresql://")


@pytest.fixture
def empty_postgres(postgres_url: str) -> Iterator[str]:
    """A PostgreSQL database that exists but was never migrated."""
    import asyncio

    from tests.conftest import _create_postgres_database, _drop_postgres_database

    admin = make_url(postgres_url).set(database="postgres").render_as_string(False)
    name = f"cs_test_empty_{uuid.uuid4().hex[:8]}"
    asyncio.run(_create_postgres_database(admin, name))
    yield make_url(admin).set(database=name).render_as_string(False)
    asyncio.run(_drop_postgres_database(admin, name))


@pytest.mark.postgres
def test_postgres_not_migrated_or_missing_is_one_line(tmp_path: Path, empty_postgres: str) -> None:
    result = cli(tmp_path, "keys", "list", "--tenant", "acme", DATABASE_URL=empty_postgres)
    assert_one_line_error(result, "is not migrated: run `course-supporter db upgrade`")
    missing = make_url(empty_postgres).set(database="cs_no_such_database")
    result = cli(tmp_path, "tenants", "list", DATABASE_URL=missing.render_as_string(False))
    assert_one_line_error(result, 'database "cs_no_such_database" does not exist')


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["keys", "create", "--tenant", "ghost"], "no tenant named 'ghost'"),
        (["report", "cost", "--tenant", "ghost"], "no tenant named 'ghost'"),
        (["build", "no/such/file.md"], "no/such/file.md: no such file or directory"),
        (["eval", "no-such.json", "no-such-either.json"], "does not exist"),
        (["keys", "create"], "Missing option '--tenant'"),
        (["tenants", "frobnicate"], "No such command 'frobnicate'"),
        (["report", "cost", "--from", "yesterday"], "is not a date"),
        (["show", "not-a-uuid"], "'not-a-uuid' is not a course id"),
        (["show", "01a2f000-0000-7000-8000-000000000000"], "no course 01a2f000-"),
        (["show", "01a2f000-0000-7000-8000-000000000000", "--format", "pdf"], "'pdf'"),
    ],
)
def test_user_errors_are_one_line_never_a_traceback(
    tmp_path: Path, migrated: str, args: list[str], expected: str
) -> None:
    assert_one_line_error(cli(tmp_path, *args, DATABASE_URL=migrated), expected)


def test_help_needs_no_database_and_lists_the_commands(tmp_path: Path) -> None:
    result = cli(tmp_path, "--help")
    assert result.returncode == 0
    for command in ("serve", "worker", "db", "tenants", "keys", "build", "eval", "report"):
        assert command in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_help_does_not_load_the_web_stack_or_the_database_driver() -> None:
    """What `--help` imports is what every command pays before it starts (benchmarks/cli.py)."""
    probe = (
        "import sys; from course_supporter import cli; "
        "heavy = [m for m in ('fastapi', 'sqlalchemy', 'pydantic', 'aiobotocore', 'rich') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=PROJECT
    )
    assert result.stdout.strip() == ""


def test_an_admin_command_loads_neither_logging_nor_the_postgresql_dialect(
    tmp_path: Path, migrated: str
) -> None:
    """`tenants create` on SQLite needs SQLAlchemy and its SQLite driver, nothing more: structlog
    (with rich) and the PostgreSQL dialect were a fifth of its start (benchmarks/cli.py)."""
    probe = (
        "import atexit, sys; "
        "atexit.register(lambda: print(','.join(m for m in ('structlog', 'rich', "
        "'sqlalchemy.dialects.postgresql', 'fastapi', 'filetype') if m in sys.modules))); "
        "sys.argv = ['course-supporter', 'tenants', 'create', 'acme']; "
        "from course_supporter.cli import main; main()"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DATABASE_URL": migrated},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == ""


def test_show_prints_a_courses_outline_or_its_json(tmp_path: Path, migrated: str) -> None:
    import asyncio
    import json

    from course_supporter.courses.models import Course
    from course_supporter.db import Database
    from course_supporter.tenancy.models import Tenant
    from tests.conftest import make_settings

    async def seed() -> str:
        db = Database(make_settings(migrated, tmp_path))
        async with db.sessions() as session:
            tenant = Tenant(name="acme")
            session.add(tenant)
            await session.flush()
            course = Course(tenant_id=tenant.id, title="Git <basics>", description="Start here.")
            session.add(course)
            await session.commit()
            course_id = str(course.id)
        await db.dispose()
        return course_id

    course_id = asyncio.run(seed())
    outline = cli(tmp_path, "show", course_id, DATABASE_URL=migrated)
    assert outline.returncode == 0, outline.stderr
    assert outline.stdout == "# Git \\<basics\\>\n\nStart here.\n"
    as_json = cli(tmp_path, "show", course_id, "--format", "json", DATABASE_URL=migrated)
    assert json.loads(as_json.stdout)["title"] == "Git <basics>"
    assert json.loads(as_json.stdout)["structure"] is None


@pytest.mark.parametrize(
    ("args", "setting", "expected"),
    [
        (["db", "upgrade"], {"ENVIRONMENT": ""}, "ENVIRONMENT='': input should be 'development'"),
        (["db", "downgrade", "-1"], {"ENVIRONMENT": "prod"}, "ENVIRONMENT='prod'"),
        (["tenants", "list"], {"DATABASE_POOL_SIZE": "0"}, "DATABASE_POOL_SIZE='0': input"),
        (
            ["keys", "create", "--tenant", "acme"],
            {"API_KEY_CACHE_TTL_SECONDS": "x"},
            "valid number",
        ),
        (["serve"], {"TRUSTED_PROXIES": "proxy"}, "TRUSTED_PROXIES"),
        (["worker"], {"S3_ADDRESSING_STYLE": "x"}, "'auto', 'path' or 'virtual'"),
        (
            ["build", str(PROJECT / "tests" / "data" / "tutorial")],
            {"STORAGE_BACKEND": "ftp"},
            "STORAGE_BACKEND='ftp'",
        ),
        (["show", "01a2f000-0000-7000-8000-000000000000"], {"JOB_CONCURRENCY": "0"}, "greater"),
    ],
)
def test_an_invalid_setting_is_one_line_naming_it_for_every_command(
    tmp_path: Path, migrated: str, args: list[str], setting: dict[str, str], expected: str
) -> None:
    result = cli(tmp_path, *args, DATABASE_URL=migrated, **setting)
    assert_one_line_error(result, "invalid setting " + next(iter(setting)))
    assert expected in result.stderr
    assert result.returncode == 2


def test_a_secret_setting_is_named_but_its_value_never_printed(tmp_path: Path) -> None:
    result = cli(tmp_path, "tenants", "list", UPLOAD_SIGNING_SECRET="hunter2")
    assert_one_line_error(result, "invalid setting UPLOAD_SIGNING_SECRET: ")
    assert "hunter2" not in result.stderr
    assert result.returncode == 2


def test_migrating_to_an_unknown_revision_is_one_line(tmp_path: Path, migrated: str) -> None:
    for args in (["db", "downgrade", "nope"], ["db", "upgrade", "--revision", "nope"]):
        result = cli(tmp_path, *args, DATABASE_URL=migrated)
        assert_one_line_error(result, "Can't locate revision identified by 'nope'")
    # `-1` is a revision (the one before), not an unknown option.
    assert cli(tmp_path, "db", "downgrade", "-1", DATABASE_URL=migrated).returncode == 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["tenants", "create", "x" * 101], "tenant name must be 1-100 printable characters"),
        (["keys", "create", "--tenant", "acme", "--expires-in", "3x"], "bad duration '3x'"),
        (["keys", "create", "--tenant", "acme", "--expires-in", "9" * 12 + "d"], "too long"),
        (["keys", "create", "--tenant", "acme", "--rate-prep", "0"], "at least 1 request"),
        (["keys", "create", "--tenant", "acme", "--scopes", "admin"], "unknown scope(s) admin"),
        (["keys", "rotate", "cs_live_0000", "--grace", "soon"], "bad duration 'soon'"),
        (["tenants", "set", "acme", "--review-threshold", "2"], "between 0 and 1"),
    ],
)
def test_bad_admin_input_is_one_line(
    tmp_path: Path, migrated: str, args: list[str], expected: str
) -> None:
    assert cli(tmp_path, "tenants", "create", "acme", DATABASE_URL=migrated).returncode == 0
    assert_one_line_error(cli(tmp_path, *args, DATABASE_URL=migrated), expected)
