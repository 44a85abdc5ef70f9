"""Course endpoints: thin calls into the course service."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from course_supporter.courses import service
from course_supporter.courses.schemas import CourseCreate, CourseDetail, CourseOut, CourseUpdate
from course_supporter.db import SessionDep
from course_supporter.http_errors import error_responses
from course_supporter.pagination import Page, PageParams, encode_cursor
from course_supporter.tenancy.auth import PrepTenant, ReadTenant

router = APIRouter(
    prefix="/api/v1/courses", tags=["courses"], responses=error_responses(401, 403, 422, 429)
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CourseOut,
    responses=error_responses(400, 413),
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
    courses = await service.list_courses(
        session, tenant.tenant_id, limit=page.limit + 1, after=page.after
    )
    items = [CourseOut.model_validate(course) for course in courses[: page.limit]]
    more = len(courses) > page.limit
    return Page(items=items, next_cursor=encode_cursor(items[-1].id) if more else None)


@router.get("/{course_id}", response_model=CourseDetail, responses=error_responses(404))
async def get_course(course_id: uuid.UUID, tenant: ReadTenant, session: SessionDep) -> CourseDetail:
    """One course with its materials and generated structure."""
    course = await service.get_course(session, tenant.tenant_id, course_id)
    return CourseDetail.model_validate(course)


@router.patch("/{course_id}", response_model=CourseOut, responses=error_responses(400, 404, 413))
async def update_course(
    course_id: uuid.UUID, body: CourseUpdate, tenant: PrepTenant, session: SessionDep
) -> CourseOut:
    """Change a course's title, description, goal or expectations."""
    course = await service.update_course(session, tenant.tenant_id, course_id, body)
    return CourseOut.model_validate(course)


@router.delete(
    "/{course_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404)
)
async def delete_course(course_id: uuid.UUID, tenant: PrepTenant, session: SessionDep) -> Response:
    """Delete a course, its materials and their stored files."""
    await service.delete_course(session, tenant.tenant_id, course_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
