"""Cursor pagination shared by every list endpoint: `?limit=&cursor=` → `{items, next_cursor}`."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from course_supporter.errors import InvalidInputError

ItemT = TypeVar("ItemT")


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


def page_request(
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


PageParams = Annotated[PageRequest, Depends(page_request)]
