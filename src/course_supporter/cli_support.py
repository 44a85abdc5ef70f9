"""What every sub-command shares: run a coroutine with a session, print errors, exit non-zero.

Command modules import typer and little else at module level, and their domain inside each
command, so `--help` and one admin command start without loading the web stack.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

from course_supporter.errors import DomainError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from course_supporter.config import Settings

T = TypeVar("T")

UPGRADE_HINT = "run `course-supporter db upgrade` (or set DATABASE_URL)"
# The server refused the login (28: bad password or role) or knows no such database (3D).
CONNECT_REFUSED_SQLSTATES = ("28", "3D")


def command_group(help_text: str) -> typer.Typer:
    """A command group with plain help and plain tracebacks: rich's rendering costs a fifth of a
    second at every start, and a crash report must never print local variables (keys)."""
    return typer.Typer(
        help=help_text,
        no_args_is_help=True,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
    )


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def with_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction, committed once when it returns and rolled back if it
    raises; user and database errors become one line and exit 1."""
    import asyncio

    from course_supporter.config import get_settings
    from course_supporter.db import Database

    settings = get_settings()
    require_database_file(settings)

    async def main() -> T:
        database = Database(settings)
        try:
            async with database.transaction() as session:
                return await work(session)
        finally:
            await database.dispose()

    with database_errors(settings):
        return asyncio.run(main())


@contextmanager
def database_errors(settings: Settings) -> Iterator[None]:
    """A domain error, an unmigrated or an unreachable database: one line on stderr, exit 1."""
    try:
        yield
    except DomainError as exc:
        fail(exc.message)
    except Exception as exc:
        from course_supporter.db import is_database_unavailable, is_schema_missing, sqlstate_of

        where = database_address(settings)
        if is_schema_missing(exc):
            fail(f"the database at {where} is not migrated: {UPGRADE_HINT}")
        if is_database_unavailable(exc):
            fail(f"cannot reach the database at {where}: {_cause(exc)}")
        if (sqlstate_of(exc) or "").startswith(CONNECT_REFUSED_SQLSTATES):
            fail(f"cannot open the database at {where}: {_cause(exc)}")
        raise


def database_address(settings: Settings) -> str:
    """The database's URL without its password, or the SQLite file's full path."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        return str(Path(url.database).resolve())
    return url.render_as_string(hide_password=True)


def require_database_file(settings: Settings) -> None:
    """A SQLite file that is not there is an error, not a new empty database in whatever
    folder the command ran from."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    on_disk = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
    if on_disk and not Path(str(url.database)).is_file():
        fail(f"no database at {database_address(settings)}: {UPGRADE_HINT}")


def _cause(exc: BaseException) -> str:
    """The innermost cause's first line: the driver's words, not SQLAlchemy's wrapping."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def print_json(payload: Any) -> None:
    typer.echo(json.dumps(payload, default=str, indent=2))
