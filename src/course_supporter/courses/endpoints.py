"""Course endpoints: thin calls into the course service."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status

from course_supporter.courses import exercises, service, structure
from course_supporter.courses.schemas import (
    CourseCreate,
    CourseDetail,
    CourseOut,
    CourseUpdate,
    ExerciseCreate,
    ExerciseOut,
    ExerciseUpdate,
    JobAccepted,
    LessonOut,
    StructureRequest,
)
from course_supporter.dependencies import SessionDep
from course_supporter.http_errors import body_responses, error_responses
from course_supporter.pagination import Page, PageParams, page_of
from course_supporter.tenancy.auth import PrepTenant, ReadTenant

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


@router.get(
    "/{course_id}",
    response_model=CourseDetail,
    responses={**error_responses(404), 304: {"description": "Not modified (If-None-Match)"}},
)
async def get_course(course_id: uuid.UUID, request: Request, tenant: ReadTenant) -> Response:
    """One course with its materials and generated structure; `ETag` and `304` supported."""
    read = await service.read_course(
        request.app.state.db,
        request.app.state.rendered_courses,
        tenant.tenant_id,
        course_id,
        request.headers.get("if-none-match"),
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
    )
    return JobAccepted(job_id=job.id)


@router.get(
    "/{course_id}/lessons/{lesson_id}", response_model=LessonOut, responses=error_responses(404)
)
async def get_lesson(
    course_id: uuid.UUID, lesson_id: uuid.UUID, tenant: ReadTenant, session: SessionDep
) -> dict[str, object]:
    """One lesson with its concepts and exercises."""
    return await structure.get_lesson(session, tenant.tenant_id, course_id, lesson_id)


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


@router.post(
    "/{course_id}/exercises",
    status_code=status.HTTP_201_CREATED,
    response_model=ExerciseOut,
    responses=body_responses(404),
)
async def create_exercise(
    course_id: uuid.UUID, body: ExerciseCreate, tenant: PrepTenant, session: SessionDep
) -> ExerciseOut:
    """Author an exercise at the end of a lesson; `max_points` defaults to 5."""
    exercise = await exercises.create_exercise(session, tenant.tenant_id, course_id, body)
    return ExerciseOut.model_validate(exercise, from_attributes=True)


@router.patch(
    "/{course_id}/exercises/{exercise_id}",
    response_model=ExerciseOut,
    responses=body_responses(404),
)
async def update_exercise(
    course_id: uuid.UUID,
    exercise_id: uuid.UUID,
    body: ExerciseUpdate,
    tenant: PrepTenant,
    session: SessionDep,
) -> ExerciseOut:
    """Change an exercise; fields left out keep their value."""
    exercise = await exercises.update_exercise(
        session, tenant.tenant_id, course_id, exercise_id, body
    )
    return ExerciseOut.model_validate(exercise, from_attributes=True)


@router.delete(
    "/{course_id}/exercises/{exercise_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(404),
)
async def delete_exercise(
    course_id: uuid.UUID, exercise_id: uuid.UUID, tenant: PrepTenant, session: SessionDep
) -> Response:
    """Delete an exercise; its learners' submissions are kept."""
    await exercises.delete_exercise(session, tenant.tenant_id, course_id, exercise_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
