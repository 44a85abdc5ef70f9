"""Course endpoints: thin calls into the course service."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from course_supporter.authoring import service as versions
from course_supporter.courses import service, structure
from course_supporter.courses.schemas import (
    CourseCreate,
    CourseDetail,
    CourseOut,
    CourseUpdate,
    JobAccepted,
    LessonOut,
    RegenerateRequest,
    StructureRequest,
)
from course_supporter.dependencies import SessionDep
from course_supporter.errors import ForbiddenError
from course_supporter.http_errors import body_responses, error_responses
from course_supporter.pagination import Page, PageParams, page_of
from course_supporter.structuring.outline import OutlineFormat
from course_supporter.tenancy.auth import PrepTenant, ReadTenant
from course_supporter.tenancy.context import TenantContext
from course_supporter.tenancy.scopes import Scope

# Version numbers are 32-bit integer columns.
MAX_VERSION = 2**31 - 1
VersionQuery = Annotated[
    int | None,
    Query(
        ge=1,
        le=MAX_VERSION,
        description="A stored structure version (prep keys); default: the draft",
    ),
]


def _published_only(tenant: TenantContext, version: int | None) -> bool:
    """A key without `prep` reads the published version, and only that."""
    if Scope.PREP in tenant.scopes:
        return False
    if version is not None:
        raise ForbiddenError("check keys read the published version only; leave out ?version=")
    return True


router = APIRouter(
    prefix="/api/v1/courses", tags=["courses"], responses=error_responses(401, 403, 422, 429, 503)
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CourseOut,
    responses=body_responses(),
)
async def create_course(body: CourseCreate, tenant: PrepTenant, session: SessionDep) -> CourseOut:
    """Create a course owned by the caller's tenant."""
    course = await service.create_course(session, tenant.tenant_id, body)
    return CourseOut.model_validate(course)


@router.get("", response_model=Page[CourseOut])
async def list_courses(
    tenant: ReadTenant, session: SessionDep, page: PageParams
) -> Page[CourseOut]:
    """The tenant's courses, newest first."""
    courses = await service.list_courses(session, tenant.tenant_id, page)
    return page_of(courses, page, CourseOut.model_validate)


_OUTLINE_TYPES: dict[str, OutlineFormat] = {"text/markdown": "markdown", "text/html": "html"}
_DETAIL_RESPONSES: dict[int | str, dict[str, Any]] = {
    **error_responses(404, 409),
    200: {
        "description": "The course as JSON, or its outline as Markdown or an HTML page "
        "(`Accept: text/markdown` or `text/html`)",
        "content": {
            "text/markdown": {"schema": {"type": "string"}},
            "text/html": {"schema": {"type": "string"}},
        },
    },
    304: {"description": "Not modified (If-None-Match)"},
}


def preferred_view(accept: str | None) -> OutlineFormat | None:
    """The outline format the client prefers over JSON, if any (`Accept` with q-values)."""
    best: tuple[float, int, OutlineFormat | None] = (0.0, 0, None)
    for order, media_range in enumerate((accept or "").split(",")):
        kind, *params = (piece.strip() for piece in media_range.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        view = _OUTLINE_TYPES.get(kind.lower()) if kind.lower() != "application/json" else None
        if kind.lower() in {*_OUTLINE_TYPES, "application/json"} and quality > best[0]:
            best = (quality, -order, view)
    return best[2]


@router.get("/{course_id}", response_model=CourseDetail, responses=_DETAIL_RESPONSES)
async def get_course(
    course_id: uuid.UUID, request: Request, tenant: ReadTenant, version: VersionQuery = None
) -> Response:
    """One course with its materials and structure; `ETag` and `304` supported.

    `prep` keys read the draft, or any stored `?version=`; `check` keys read the published
    version only (409 while nothing is published). With `Accept: text/markdown` or
    `text/html`: the outline (modules, lessons, concepts with definitions, exercises) of the
    same version, references as links where the material has an address."""
    published_only = _published_only(tenant, version)
    view = preferred_view(request.headers.get("accept"))
    if view is not None:
        async with request.app.state.db.sessions() as session:
            if published_only:
                version = await service.published_version(session, tenant.tenant_id, course_id)
            text = await service.course_outline(
                session, versions, tenant.tenant_id, course_id, view, number=version
            )
        media_type = "text/markdown" if view == "markdown" else "text/html"
        return Response(text, media_type=f"{media_type}; charset=utf-8")
    read = await service.read_course(
        request.app.state.db,
        request.app.state.rendered_courses,
        versions,
        tenant.tenant_id,
        course_id,
        request.headers.get("if-none-match"),
        published_only=_published_only(tenant, version),
        number=version,
    )
    headers = {"ETag": read.etag, "Cache-Control": "private, no-cache"}
    if read.body is None:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(read.body, media_type="application/json", headers=headers)


@router.post(
    "/{course_id}/structure",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobAccepted,
    responses=body_responses(404, 409),
)
async def generate_structure(
    course_id: uuid.UUID, body: StructureRequest, tenant: PrepTenant, session: SessionDep
) -> JobAccepted:
    """Queue generation of the course structure from its processed materials.

    409 while materials are still processing (they are listed), unless the body says
    `"wait_for_materials": true`: then the job waits until each is done or failed."""
    job = await service.request_structure(
        session,
        tenant.tenant_id,
        course_id,
        body.strategy,
        wait_for_materials=body.wait_for_materials,
        key_prefix=tenant.key_prefix,
    )
    return JobAccepted(job_id=job.id)


@router.post(
    "/{course_id}/modules/{module_id}/regenerate",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobAccepted,
    responses=body_responses(404, 409),
)
async def regenerate_module(
    course_id: uuid.UUID,
    module_id: uuid.UUID,
    tenant: PrepTenant,
    session: SessionDep,
    body: Annotated[RegenerateRequest | None, Body()] = None,
) -> JobAccepted:
    """Queue regeneration of one module from the materials behind it, with the author's
    optional `instructions` for the model; edited and authored items are kept, deleted
    generated ones stay deleted, the rest of the course is left alone. A new version follows."""
    return await _regenerate(course_id, "module", module_id, tenant, session, body)


@router.post(
    "/{course_id}/lessons/{lesson_id}/regenerate",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobAccepted,
    responses=body_responses(404, 409),
)
async def regenerate_lesson(
    course_id: uuid.UUID,
    lesson_id: uuid.UUID,
    tenant: PrepTenant,
    session: SessionDep,
    body: Annotated[RegenerateRequest | None, Body()] = None,
) -> JobAccepted:
    """Queue regeneration of one lesson (its concepts and exercises), keeping edits."""
    return await _regenerate(course_id, "lesson", lesson_id, tenant, session, body)


async def _regenerate(
    course_id: uuid.UUID,
    part: Literal["module", "lesson"],
    item_id: uuid.UUID,
    tenant: TenantContext,
    session: AsyncSession,
    body: RegenerateRequest | None,
) -> JobAccepted:
    request = body or RegenerateRequest()
    job = await service.request_regeneration(
        session,
        tenant.tenant_id,
        course_id,
        part=part,
        item_id=item_id,
        instructions=request.instructions,
        strategy=request.strategy,
        key_prefix=tenant.key_prefix,
    )
    return JobAccepted(job_id=job.id)


@router.get(
    "/{course_id}/lessons/{lesson_id}",
    response_model=LessonOut,
    responses=error_responses(404, 409),
)
async def get_lesson(
    course_id: uuid.UUID,
    lesson_id: uuid.UUID,
    tenant: ReadTenant,
    session: SessionDep,
    version: VersionQuery = None,
) -> dict[str, object]:
    """One lesson with its concepts and exercises (the version as for the course detail)."""
    if _published_only(tenant, version):
        version = await service.published_version(session, tenant.tenant_id, course_id)
    return await structure.get_lesson(
        session, versions, tenant.tenant_id, course_id, lesson_id, number=version
    )


@router.patch("/{course_id}", response_model=CourseOut, responses=body_responses(404))
async def update_course(
    course_id: uuid.UUID, body: CourseUpdate, tenant: PrepTenant, session: SessionDep
) -> CourseOut:
    """Change a course's title, description, goal or expectations."""
    course = await service.update_course(session, tenant.tenant_id, course_id, body)
    return CourseOut.model_validate(course)


@router.delete(
    "/{course_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404)
)
async def delete_course(
    course_id: uuid.UUID, request: Request, tenant: PrepTenant, session: SessionDep
) -> Response:
    """Delete a course, its materials and their stored files."""
    await service.delete_course(session, request.app.state.storage, tenant.tenant_id, course_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
