"""What every sub-command shares: run a coroutine with a session, print errors, exit non-zero."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from course_supporter.config import get_settings
from course_supporter.db import Database
from course_supporter.errors import DomainError

T = TypeVar("T")


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def with_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in a fresh session; a DomainError becomes a one-line error and exit status 1."""

    async def main() -> T:
        database = Database(get_settings())
        try:
            async with database.sessions() as session:
                return await work(session)
        finally:
            await database.dispose()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        fail(exc.message)


def print_json(payload: Any) -> None:
    typer.echo(json.dumps(payload, default=str, indent=2))
