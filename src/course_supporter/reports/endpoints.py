"""Cost report for the calling tenant."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from course_supporter.dependencies import SessionDep
from course_supporter.http_errors import error_responses
from course_supporter.reports import service
from course_supporter.reports.schemas import CostReport, ReportDay
from course_supporter.tenancy.auth import ReadTenant

router = APIRouter(
    prefix="/api/v1/reports", tags=["reports"], responses=error_responses(401, 403, 422, 429, 503)
)


@router.get("/cost", response_model=CostReport)
async def cost_report(
    tenant: ReadTenant,
    session: SessionDep,
    date_from: Annotated[
        ReportDay | None, Query(alias="from", description="First UTC day, YYYY-MM-DD")
    ] = None,
    date_to: Annotated[
        ReportDay | None, Query(alias="to", description="Last UTC day, YYYY-MM-DD")
    ] = None,
) -> CostReport:
    """What the tenant's model calls cost: totals, and by action, by model and by day."""
    return await service.cost_report(session, tenant.tenant_id, date_from, date_to)
