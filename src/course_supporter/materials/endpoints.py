"""Material and slide-mapping endpoints: thin calls into the material service."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from course_supporter.dependencies import SessionDep
from course_supporter.errors import UnsupportedMediaError
from course_supporter.http_errors import body_responses, error_responses
from course_supporter.ingestion.formats import accepted_types_text
from course_supporter.materials import service, uploads
from course_supporter.materials.models import Material
from course_supporter.materials.schemas import (
    MaterialCreated,
    MaterialDocument,
    MaterialFromUrl,
    MaterialOut,
    SlideMappingIn,
    SlideMappingOut,
    UploadCompletion,
    UploadCreate,
    UploadOut,
)
from course_supporter.pagination import Page, PageParams, page_of
from course_supporter.storage import UploadedPart
from course_supporter.tenancy.auth import PrepTenant, ReadTenant

router = APIRouter(
    prefix="/api/v1/courses/{course_id}",
    tags=["materials"],
    responses=error_responses(401, 403, 404, 422, 429, 503),
)

_CREATE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "source_type": {
                            "type": "string",
                            "enum": ["video", "presentation", "text"],
                            "description": (
                                "Optional (before `file`): detected from the file when left "
                                f"out. File types each takes: {accepted_types_text()}."
                            ),
                        },
                        "position": {
                            "type": "integer",
                            "minimum": 0,
                            "maximum": 1_000_000,
                            "description": "Where the material goes in the course; "
                            "materials without one follow in upload order.",
                        },
                        "file": {"type": "string", "format": "binary"},
                    },
                }
            },
            "application/json": {"schema": MaterialFromUrl.model_json_schema()},
        },
    }
}


@router.post(
    "/materials",
    status_code=status.HTTP_201_CREATED,
    response_model=MaterialCreated,
    responses=body_responses(415, 503),
    openapi_extra=_CREATE_BODY,
)
async def create_material(
    course_id: uuid.UUID, request: Request, tenant: PrepTenant, session: SessionDep
) -> MaterialCreated:
    """Upload a file (multipart, streamed to storage) or register a URL (JSON); starts ingestion."""
    content_type = request.headers.get("content-type", "")
    settings = request.app.state.settings
    if content_type.startswith("multipart/form-data"):
        created = await service.upload_material(
            session,
            request.app.state.storage,
            settings,
            tenant_id=tenant.tenant_id,
            course_id=course_id,
            body=request.stream(),
            content_type=content_type,
            content_length=_content_length(request),
        )
    elif content_type.startswith("application/json"):
        created = await service.add_url_material(
            session,
            tenant_id=tenant.tenant_id,
            course_id=course_id,
            data=await _json_body(request),
        )
    else:
        raise UnsupportedMediaError("send multipart/form-data (a file) or application/json (a URL)")
    return MaterialCreated(
        **MaterialOut.model_validate(created.material).model_dump(), job_id=created.job.id
    )


@router.get("/materials", response_model=Page[MaterialOut])
async def list_materials(
    course_id: uuid.UUID, tenant: ReadTenant, session: SessionDep, page: PageParams
) -> Page[MaterialOut]:
    """The course's materials, oldest first."""
    materials = await service.list_materials(session, tenant.tenant_id, course_id, page)
    return page_of(materials, page, MaterialOut.model_validate)


@router.get("/materials/{material_id}", response_model=MaterialOut)
async def get_material(
    course_id: uuid.UUID, material_id: uuid.UUID, tenant: ReadTenant, session: SessionDep
) -> MaterialOut:
    """A material with its status, error, size and checksum."""
    material = await service.get_material(session, tenant.tenant_id, course_id, material_id)
    return MaterialOut.model_validate(material)


@router.get(
    "/materials/{material_id}/document",
    response_model=MaterialDocument,
    responses=error_responses(409),
)
async def get_material_document(
    course_id: uuid.UUID, material_id: uuid.UUID, tenant: ReadTenant, session: SessionDep
) -> MaterialDocument:
    """The normalized source document extracted from a processed material."""
    material: Material = await service.get_material(
        session, tenant.tenant_id, course_id, material_id
    )
    return MaterialDocument(
        material_id=material.id, status=material.status, document=service.document_of(material)
    )


_REPLACE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


@router.put(
    "/materials/{material_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MaterialCreated,
    responses=body_responses(409, 413, 415, 503),
    openapi_extra=_REPLACE_BODY,
)
async def replace_material(
    course_id: uuid.UUID,
    material_id: uuid.UUID,
    request: Request,
    tenant: PrepTenant,
    session: SessionDep,
) -> MaterialCreated:
    """Replace an uploaded material's file (multipart `file`, same source type): the material
    keeps its id, is ingested again (status `pending`, a new job) and the course turns stale
    until its structure is regenerated; nothing regenerates by itself."""
    replaced = await service.replace_material_file(
        session,
        request.app.state.storage,
        request.app.state.settings,
        tenant_id=tenant.tenant_id,
        course_id=course_id,
        material_id=material_id,
        body=request.stream(),
        content_type=request.headers.get("content-type", ""),
        content_length=_content_length(request),
    )
    return MaterialCreated(
        **MaterialOut.model_validate(replaced.material).model_dump(), job_id=replaced.job.id
    )


@router.delete("/materials/{material_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_material(
    course_id: uuid.UUID,
    material_id: uuid.UUID,
    request: Request,
    tenant: PrepTenant,
    session: SessionDep,
) -> Response:
    """Delete a material and its stored file."""
    await service.delete_material(
        session, request.app.state.storage, tenant.tenant_id, course_id, material_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/uploads",
    status_code=status.HTTP_201_CREATED,
    response_model=UploadOut,
    responses=body_responses(415, 503),
)
async def create_upload(
    course_id: uuid.UUID,
    body: UploadCreate,
    request: Request,
    tenant: PrepTenant,
    session: SessionDep,
) -> UploadOut:
    """Sign a direct upload to storage: one PUT URL, or one per part for large files."""
    prepared = await uploads.prepare_upload(
        session,
        request.app.state.storage,
        request.app.state.settings,
        tenant_id=tenant.tenant_id,
        course_id=course_id,
        data=body,
    )
    return UploadOut.of(
        prepared.upload,
        prepared.presigned,
        complete_by=prepared.complete_by,
        base_url=str(request.base_url),
    )


@router.post(
    "/uploads/{upload_id}/complete",
    status_code=status.HTTP_201_CREATED,
    response_model=MaterialCreated,
    responses=body_responses(409, 410, 415, 503),
)
async def complete_upload(
    course_id: uuid.UUID,
    upload_id: uuid.UUID,
    request: Request,
    tenant: PrepTenant,
    session: SessionDep,
    body: Annotated[UploadCompletion | None, Body()] = None,
) -> MaterialCreated:
    """Check the directly uploaded object and create its material; starts ingestion."""
    created = await uploads.complete_upload(
        session,
        request.app.state.storage,
        tenant_id=tenant.tenant_id,
        course_id=course_id,
        upload_id=upload_id,
        parts=[UploadedPart(p.part_number, p.etag) for p in body.parts] if body else (),
    )
    return MaterialCreated(
        **MaterialOut.model_validate(created.material).model_dump(), job_id=created.job.id
    )


@router.post(
    "/slide-mapping",
    status_code=status.HTTP_201_CREATED,
    response_model=SlideMappingOut,
    responses=body_responses(409),
)
async def add_slide_mapping(
    course_id: uuid.UUID, body: SlideMappingIn, tenant: PrepTenant, session: SessionDep
) -> SlideMappingOut:
    """Map slide numbers to video timecodes; idempotent: repeating a mapping is a no-op,
    remapping a slide to another timecode is a 422."""
    created = await service.add_slide_mappings(session, tenant.tenant_id, course_id, body.mappings)
    return SlideMappingOut(created=created, mappings=body.mappings)


def _content_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    return int(value) if value and value.isdigit() else None


async def _json_body(request: Request) -> MaterialFromUrl:
    """The JSON branch of a two-media-type operation, validated like any FastAPI body
    (the body middleware has already capped its size and refused NUL)."""
    try:
        return MaterialFromUrl.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        ) from exc
