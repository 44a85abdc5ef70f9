"""Cursor pagination shared by every list endpoint: `?limit=&cursor=` → `{items, next_cursor}`."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Protocol, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from course_supporter.errors import InvalidInputError

ItemT = TypeVar("ItemT")
RowT = TypeVar("RowT")


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None


@dataclass(frozen=True)
class PageRequest:
    limit: int
    after: uuid.UUID | None


# A cursor is the last item's 16-byte id in unpadded URL-safe base64: exactly 22 characters.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{22}$"


def encode_cursor(last_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(last_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return uuid.UUID(bytes=raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInputError(
            "cursor is not valid; pass next_cursor from a previous page"
        ) from exc


async def page_request(
    limit: Annotated[int, Query(ge=1, le=100, description="Items per page")] = 20,
    cursor: Annotated[
        str | None,
        Query(
            min_length=22,
            max_length=22,
            pattern=CURSOR_PATTERN,
            description="next_cursor of the previous page",
        ),
    ] = None,
) -> PageRequest:
    return PageRequest(limit=limit, after=decode_cursor(cursor) if cursor else None)


# async although it does no I/O: FastAPI would run a plain function in its thread pool, a
# hand-off that costs more than decoding a cursor.
PageParams = Annotated[PageRequest, Depends(page_request)]


class _Identified(Protocol):
    @property
    def id(self) -> uuid.UUID: ...


IdentifiedT = TypeVar("IdentifiedT", bound=_Identified)


def paged(
    statement: Select[Any],
    id_column: InstrumentedAttribute[uuid.UUID],
    page: PageRequest,
    *,
    newest_first: bool = False,
) -> Select[Any]:
    """`statement` cut to one page in id order (UUIDv7: creation order), with one row beyond
    it so that `page_of` can tell whether another page follows."""
    if page.after is not None:
        statement = statement.where(
            id_column < page.after if newest_first else id_column > page.after
        )
    order = id_column.desc() if newest_first else id_column.asc()
    return statement.order_by(order).limit(page.limit + 1)


def page_of(
    rows: Sequence[IdentifiedT], page: PageRequest, item: Callable[[IdentifiedT], ItemT]
) -> Page[ItemT]:
    """The response for rows a `paged` statement read: the page's items and the next cursor."""
    shown = rows[: page.limit]
    more = len(rows) > page.limit
    return Page(
        items=[item(row) for row in shown],
        next_cursor=encode_cursor(shown[-1].id) if more else None,
    )
