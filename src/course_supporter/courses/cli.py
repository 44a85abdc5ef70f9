"""`show`: a course's outline or detail from the database, whichever tenant owns it."""

from __future__ import annotations

import json
import uuid
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from course_supporter.cli_support import fail, with_session

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


class ShowFormat(StrEnum):
    MARKDOWN = "markdown"
    JSON = "json"


def show(
    course_id: Annotated[str, typer.Argument(metavar="COURSE_ID")],
    format: Annotated[ShowFormat, typer.Option("--format", help="Output.")] = ShowFormat.MARKDOWN,
) -> None:
    """Print a course's outline (Markdown) or its detail as the API serves it (JSON)."""
    from course_supporter.authoring import service as versions
    from course_supporter.courses import service

    try:
        wanted = uuid.UUID(course_id)
    except ValueError:
        fail(f"{course_id!r} is not a course id (a UUID)")

    async def read(session: AsyncSession) -> str:
        tenant_id = await service.course_tenant(session, wanted)
        if format is ShowFormat.JSON:
            body = await service.course_json(session, versions, tenant_id, wanted)
            return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
        return await service.course_outline(session, versions, tenant_id, wanted, "markdown")

    typer.echo(with_session(read).rstrip("\n"))
