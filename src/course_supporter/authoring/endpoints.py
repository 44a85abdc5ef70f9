"""Authoring endpoints: edits of the draft, versions, diffs, restore and publication."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Response, status

from course_supporter.authoring import service
from course_supporter.authoring.models import StructureVersion
from course_supporter.authoring.schemas import (
    ConceptCreate,
    ConceptFields,
    Edit,
    EditBatch,
    EditBatchOut,
    ExerciseCreate,
    ExerciseFields,
    ItemOut,
    LessonCreate,
    LessonFields,
    ModuleCreate,
    ModuleFields,
    PublicationOut,
    PublishRequest,
    VersionDetail,
    VersionDiff,
    VersionOut,
    VersionPage,
)
from course_supporter.dependencies import SessionDep, SettingsDep
from course_supporter.http_errors import body_responses, error_responses
from course_supporter.pagination import PageParams, encode_cursor
from course_supporter.tenancy.auth import PrepTenant
from course_supporter.tenancy.context import TenantContext

# Version numbers are 32-bit integer columns: a larger one names no version (422).
VersionNumber = Annotated[int, Path(ge=1, le=2**31 - 1)]

router = APIRouter(
    prefix="/api/v1/courses/{course_id}",
    tags=["authoring"],
    responses=error_responses(401, 403, 422, 429, 503),
)

IfMatch = Annotated[
    str | None,
    Header(description='The structure ETag: its version, quoted ("0" before any structure)'),
]
EDIT_ERRORS = body_responses(404, 409, 412, 428)
DELETE_ERRORS = error_responses(404, 409, 412, 428)


async def _edit(
    session: SessionDep,
    settings: SettingsDep,
    tenant: TenantContext,
    course_id: uuid.UUID,
    if_match: str | None,
    edit: Edit,
    response: Response,
) -> dict[str, Any]:
    outcome = await service.apply_edits(
        session,
        tenant.tenant_id,
        tenant.key_prefix,
        course_id,
        if_match,
        [edit],
        keep=settings.structure_versions_kept,
        single=True,
    )
    response.headers["ETag"] = service.structure_etag(outcome.version)
    found = service.find_item(outcome.document, outcome.results[0].id)
    if found is None:
        return {}
    kind, item = found
    return {**item, "kind": kind, "version": outcome.version}


def _fields(body: Any) -> dict[str, Any]:
    return dict(body.model_dump(mode="json", exclude_unset=True, by_alias=False))


@router.post(
    "/modules", status_code=status.HTTP_201_CREATED, response_model=ItemOut, responses=EDIT_ERRORS
)
async def create_module(
    course_id: uuid.UUID,
    body: ModuleCreate,
    tenant: PrepTenant,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Author a module (`position` places it; default: last). `If-Match` required."""
    edit = Edit(op="create", kind="module", fields=_fields(body))
    return await _edit(session, settings, tenant, course_id, if_match, edit, response)


@router.patch("/modules/{module_id}", response_model=ItemOut, responses=EDIT_ERRORS)
async def update_module(
    course_id: uuid.UUID,
    module_id: uuid.UUID,
    body: ModuleFields,
    tenant: PrepTenant,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Change a module; `position` moves it. Fields left out keep their value."""
    edit = Edit(op="update", kind="module", id=module_id, fields=_fields(body))
    return await _edit(session, settings, tenant, course_id, if_match, edit, response)


@router.delete(
    "/modules/{module_id}", status_code=status.HTTP_204_NO_CONTENT, responses=DELETE_ERRORS
)
async def delete_module(
    course_id: uuid.UUID,
    module_id: uuid.UUID,
    tenant: PrepTenant,
    session: SessionDep,
    settings: SettingsDep,
    if_match: IfMatch = None,
) -> Response:
    """Delete a module and its lessons; 409 for the last one while a version is published."""
    return await _delete(session, settings, tenant, course_id, if_match, "module", module_id)


@router.post(
    "/lessons", status_code=status.HTTP_201_CREATED, response_model=ItemOut, responses=EDIT_ERRORS
)
async def create_lesson(
    course_id: uuid.UUID,
    body: LessonCreate,
    tenant: PrepTenant,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Author a lesson in a module (`position` places it; default: last)."""
    edit = Edit(op="create", kind="lesson", fields=_fields(body))
    return await _edit(session, settings, tenant, course_id, if_match, edit, response)


@router.patch("/lessons/{lesson_id}", response_model=ItemOut, responses=EDIT_ERRORS)
async def update_lesson(
    course_id: uuid.UUID,
    lesson_id: uuid.UUID,
    body: LessonFields,
    tenant: PrepTenant,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Change a lesson; `module_id` and `position` move it. References must exist."""
    edit = Edit(op="update", kind="lesson", id=lesson_id, fields=_fields(body))
    return await _edit(session, settings, tenant, course_id, if_match, edit, response)


@router.delete(
    "/lessons/{lesson_id}", status_code=status.HTTP_204_NO_CONTENT, responses=DELETE_ERRORS
)
async def delete_lesson(
    course_id: uuid.UUID,
    lesson_id: uuid.UUID,
    tenant: PrepTenant,
    session: SessionDep,
    settings: SettingsDep,
    if_match: IfMatch = None,
) -> Response:
    """Delete a lesson with its concepts and exercises (learners' submissions are kept)."""
    return await _delete(session, settings, tenant, course_id, if_match, "lesson", lesson_id)


@router.post(
    "/concepts", status_code=status.HTTP_201_CREATED, response_model=ItemOut, responses=EDIT_ERRORS
)
async def create_concept(
    course_id: uuid.UUID,
    body: ConceptCreate,
    tenant: PrepTenant,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Author a concept in a lesson; each reference must point at a real location."""
    edit = Edit(op="create", kind="concept", fields=_fields(body))
    return await _edit(session, settings, tenant, course_id, if_match, edit, response)


@router.patch("/concepts/{concept_id}", response_model=ItemOut, responses=EDIT_ERRORS)
async def update_concept(
    course_id: uuid.UUID,
    concept_id: uuid.UUID,
    body: ConceptFields,
    tenant: PrepTenant,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Change a concept; `lesson_id` and `position` move it."""
    edit = Edit(op="update", kind="concept", id=concept_id, fields=_fields(body))
    return await _edit(session, settings, tenant, course_id, if_match, edit, response)


@router.delete(
    "/concepts/{concept_id}", status_code=status.HTTP_204_NO_CONTENT, responses=DELETE_ERRORS
)
async def delete_concept(
    course_id: uuid.UUID,
    concept_id: uuid.UUID,
    tenant: PrepTenant,
    session: SessionDep,
    settings: SettingsDep,
    if_match: IfMatch = None,
) -> Response:
    """Delete a concept."""
    return await _delete(session, settings, tenant, course_id, if_match, "concept", concept_id)


@router.post(
    "/exercises",
    status_code=status.HTTP_201_CREATED,
    response_model=ItemOut,
    responses=EDIT_ERRORS,
)
async def create_exercise(
    course_id: uuid.UUID,
    body: ExerciseCreate,
    tenant: PrepTenant,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Author an exercise in a lesson; `max_points` defaults to 5, `criteria` to none."""
    edit = Edit(op="create", kind="exercise", fields=_fields(body))
    return await _edit(session, settings, tenant, course_id, if_match, edit, response)


@router.patch("/exercises/{exercise_id}", response_model=ItemOut, responses=EDIT_ERRORS)
async def update_exercise(
    course_id: uuid.UUID,
    exercise_id: uuid.UUID,
    body: ExerciseFields,
    tenant: PrepTenant,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    """Change an exercise; `lesson_id` and `position` move it."""
    edit = Edit(op="update", kind="exercise", id=exercise_id, fields=_fields(body))
    return await _edit(session, settings, tenant, course_id, if_match, edit, response)


@router.delete(
    "/exercises/{exercise_id}", status_code=status.HTTP_204_NO_CONTENT, responses=DELETE_ERRORS
)
async def delete_exercise(
    course_id: uuid.UUID,
    exercise_id: uuid.UUID,
    tenant: PrepTenant,
    session: SessionDep,
    settings: SettingsDep,
    if_match: IfMatch = None,
) -> Response:
    """Delete an exercise; its learners' submissions are kept."""
    return await _delete(session, settings, tenant, course_id, if_match, "exercise", exercise_id)


async def _delete(
    session: SessionDep,
    settings: SettingsDep,
    tenant: TenantContext,
    course_id: uuid.UUID,
    if_match: str | None,
    kind: str,
    item_id: uuid.UUID,
) -> Response:
    outcome = await service.apply_edits(
        session,
        tenant.tenant_id,
        tenant.key_prefix,
        course_id,
        if_match,
        [Edit(op="delete", kind=kind, id=item_id)],
        keep=settings.structure_versions_kept,
        single=True,
    )
    return Response(
        status_code=status.HTTP_204_NO_CONTENT,
        headers={"ETag": service.structure_etag(outcome.version)},
    )


@router.post("/structure/edits", response_model=EditBatchOut, responses=EDIT_ERRORS)
async def apply_edits(
    course_id: uuid.UUID,
    body: EditBatch,
    tenant: PrepTenant,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    if_match: IfMatch = None,
) -> EditBatchOut:
    """Apply a batch of edits (create, update, delete, move) all at once or not at all."""
    outcome = await service.apply_edits(
        session,
        tenant.tenant_id,
        tenant.key_prefix,
        course_id,
        if_match,
        body.edits,
        keep=settings.structure_versions_kept,
    )
    response.headers["ETag"] = service.structure_etag(outcome.version)
    return EditBatchOut(version=outcome.version, results=outcome.results)


def _version_out(version: StructureVersion, published: int | None) -> VersionOut:
    return VersionOut(
        number=version.number,
        kind=version.kind,
        key_prefix=version.key_prefix,
        created_at=version.created_at,
        published=version.number == published,
        job_id=version.job_id,
        fingerprints=version.fingerprints,
    )


@router.get("/versions", response_model=VersionPage, responses=error_responses(404))
async def list_versions(
    course_id: uuid.UUID, tenant: PrepTenant, session: SessionDep, page: PageParams
) -> VersionPage:
    """The structure's versions, newest first."""
    versions, published = await service.list_versions(
        session, tenant.tenant_id, course_id, limit=page.limit + 1, after=page.after
    )
    shown = versions[: page.limit]
    more = len(versions) > page.limit
    return VersionPage(
        items=[_version_out(v, published) for v in shown],
        next_cursor=encode_cursor(shown[-1].id) if more else None,
    )


@router.get("/versions/{version}", response_model=VersionDetail, responses=error_responses(404))
async def get_version(
    course_id: uuid.UUID, version: VersionNumber, tenant: PrepTenant, session: SessionDep
) -> VersionDetail:
    """One version and its whole structure; 404 once pruned."""
    found, published = await service.get_version(session, tenant.tenant_id, course_id, version)
    return VersionDetail(
        **_version_out(found, published).model_dump(),
        structure=json.loads(found.document_json),
    )


@router.get("/versions/{a}/diff/{b}", response_model=VersionDiff, responses=error_responses(404))
async def diff_versions(
    course_id: uuid.UUID,
    a: VersionNumber,
    b: VersionNumber,
    tenant: PrepTenant,
    session: SessionDep,
) -> VersionDiff:
    """Items added, removed, changed (field by field) and moved from version `a` to `b`."""
    return await service.diff_versions(session, tenant.tenant_id, course_id, a, b)


@router.post(
    "/versions/{version}/restore",
    status_code=status.HTTP_201_CREATED,
    response_model=VersionOut,
    responses=error_responses(404),
)
async def restore_version(
    course_id: uuid.UUID,
    version: VersionNumber,
    tenant: PrepTenant,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> VersionOut:
    """Make an old version the draft again, as a new version (items keep their ids)."""
    restored = await service.restore_version(
        session,
        tenant.tenant_id,
        tenant.key_prefix,
        course_id,
        version,
        keep=settings.structure_versions_kept,
    )
    response.headers["ETag"] = service.structure_etag(restored.number)
    return _version_out(restored, None)


@router.post("/publication", response_model=PublicationOut, responses=body_responses(404, 409))
async def publish(
    course_id: uuid.UUID,
    tenant: PrepTenant,
    session: SessionDep,
    body: PublishRequest | None = None,
) -> PublicationOut:
    """Publish a version (default: the latest): `check` keys read it from now on."""
    record = await service.publish(
        session, tenant.tenant_id, tenant.key_prefix, course_id, body.version if body else None
    )
    return PublicationOut(published_version=record.published_version, version=record.version)


@router.delete(
    "/publication", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404, 409)
)
async def unpublish(course_id: uuid.UUID, tenant: PrepTenant, session: SessionDep) -> Response:
    """Unpublish: `check` keys get 409 until a version is published again."""
    await service.unpublish(session, tenant.tenant_id, tenant.key_prefix, course_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
