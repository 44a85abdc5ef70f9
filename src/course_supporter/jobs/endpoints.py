"""Job status for polling clients."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from course_supporter.dependencies import SessionDep
from course_supporter.http_errors import error_responses
from course_supporter.jobs import service
from course_supporter.jobs.schemas import JobOut
from course_supporter.tenancy.auth import ReadTenant

router = APIRouter(
    prefix="/api/v1/jobs", tags=["jobs"], responses=error_responses(401, 403, 404, 422, 429, 503)
)


@router.get("/{job_id}", response_model=JobOut)
async def get_job(job_id: uuid.UUID, tenant: ReadTenant, session: SessionDep) -> JobOut:
    """A job's status, attempts, error and result."""
    return JobOut.model_validate(await service.get_job(session, tenant.tenant_id, job_id))
