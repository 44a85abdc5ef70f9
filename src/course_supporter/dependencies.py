"""Typed FastAPI dependencies for what an endpoint needs from the process (kept out of `db`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from course_supporter.config import Settings
from course_supporter.db import Database, commit_or_rollback
from course_supporter.storage.backend import ObjectStorage


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's one transaction: committed when the endpoint returns, rolled back when it
    raises (a failing commit is the request's error, 503 when the database is unavailable)."""
    database: Database = request.app.state.db
    async with database.sessions() as session, commit_or_rollback(session):
        yield session


# scope="function": FastAPI runs the exit code of a "request"-scoped (the default) yield
# dependency after the response is sent, so a client could see 201 for a write whose commit
# then failed; a "function"-scoped one exits when the endpoint returns, before the response.
# A streaming response therefore must not read this session: it is closed by then.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


# Every dependency here is async although none awaits: FastAPI runs a plain function in its
# thread pool, a hand-off that costs more than the attribute read it would run.


async def get_storage(request: Request) -> ObjectStorage:
    storage: ObjectStorage = request.app.state.storage
    return storage


StorageDep = Annotated[ObjectStorage, Depends(get_storage)]


async def get_settings_of_app(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_of_app)]
