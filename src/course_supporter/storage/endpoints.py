"""The PUT route of direct uploads on local storage: the URL's signature is the credential."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from course_supporter.dependencies import StorageDep
from course_supporter.http_errors import error_responses
from course_supporter.storage import service
from course_supporter.storage.signed_urls import UPLOAD_PATH, SignedPut

router = APIRouter(tags=["storage"])

HEX = r"^[0-9a-f]{1,64}$"


def _error(code: int, description: str | None = None) -> dict[str, Any]:
    declared = error_responses(code)[code]
    return {**declared, "description": description or declared["description"]}


_PUT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Stored; keep the ETag for the complete call, as with S3",
        "headers": {"ETag": {"schema": {"type": "string"}}},
        "content": {},
    },
    400: _error(400, "The body is shorter than the URL's signed length; nothing was stored"),
    403: _error(403, "The URL was altered, signed with another secret, or has expired"),
    404: _error(404, "No open multipart upload for this part, or storage is not local here"),
    411: _error(411),
    413: _error(413, "The body is longer than the URL's signed length; nothing was stored"),
    422: _error(422),
}
_PUT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.put(
    UPLOAD_PATH + "{key:path}",
    response_class=Response,
    responses=_PUT_RESPONSES,
    openapi_extra=_PUT_BODY,
)
async def put_upload(
    key: str,
    request: Request,
    storage: StorageDep,
    expires: int,
    length: Annotated[int, Query(ge=0)],
    signature: Annotated[str, Query(pattern=HEX)],
    upload_id: Annotated[str | None, Query(pattern=HEX)] = None,
    part_number: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> Response:
    """Receive a file (or one part) at an upload URL the API signed; unauthenticated like S3's."""
    put = SignedPut(key, length, expires, upload_id, part_number)
    etag = await service.receive_signed_put(
        storage,
        put,
        signature,
        content_length=_content_length(request),
        body=request.stream(),
    )
    return Response(headers={"ETag": etag})


def _content_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    return int(value) if value and value.isdigit() else None
