"""Cost reports over `llm_calls`: totals and breakdowns by action, model and day."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from course_supporter.errors import InvalidInputError
from course_supporter.llm.models import LLMCall
from course_supporter.reports.schemas import CostLine, CostReport


def _window(date_from: dt.date | None, date_to: dt.date | None) -> list[Any]:
    if date_from and date_to and date_from > date_to:
        raise InvalidInputError("'from' must not be after 'to'")
    conditions: list[Any] = []
    if date_from:
        conditions.append(LLMCall.created_at >= dt.datetime.combine(date_from, dt.time(), dt.UTC))
    if date_to and date_to < dt.date.max:  # the last representable day has no day after it
        end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), dt.UTC)
        conditions.append(LLMCall.created_at < end)
    return conditions


_MEASURES = (
    func.count(LLMCall.id),
    func.coalesce(func.sum(case((LLMCall.success.is_(False), 1), else_=0)), 0),
    func.coalesce(func.sum(LLMCall.tokens_in), 0),
    func.coalesce(func.sum(LLMCall.tokens_out), 0),
    func.coalesce(func.sum(LLMCall.cost_usd), 0),
)


def _line(key: str, row: Row[Any] | Sequence[Any]) -> CostLine:
    calls, failed, tokens_in, tokens_out, cost = row[-5:]
    return CostLine(
        key=key,
        calls=int(calls),
        failed_calls=int(failed),
        tokens_in=int(tokens_in),
        tokens_out=int(tokens_out),
        cost_usd=Decimal(str(cost)).quantize(Decimal("0.00000001")),
    )


def _utc_day(dialect: str) -> Any:
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", LLMCall.created_at), "YYYY-MM-DD")
    # SQLite keeps UTC timestamps as ISO text: the day is its first ten characters.
    return func.substr(LLMCall.created_at, 1, 10)


async def cost_report(
    session: AsyncSession,
    tenant_id: uuid.UUID | None,
    date_from: dt.date | None,
    date_to: dt.date | None,
) -> CostReport:
    """Every logged call of the tenant (all tenants when None) in the UTC date window."""
    conditions = _window(date_from, date_to)
    if tenant_id is not None:
        conditions.append(LLMCall.tenant_id == tenant_id)
    total = (await session.execute(select(*_MEASURES).where(*conditions))).one()

    async def grouped(column: Any) -> list[CostLine]:
        rows = await session.execute(
            select(column, *_MEASURES).where(*conditions).group_by(column).order_by(column)
        )
        return [_line(str(row[0]), row) for row in rows]

    model_key = LLMCall.provider + ":" + LLMCall.model_id
    day = _utc_day(session.get_bind().dialect.name)
    return CostReport(
        tenant_id=str(tenant_id) if tenant_id else None,
        date_from=date_from,
        date_to=date_to,
        total=_line("total", total),
        by_action=await grouped(LLMCall.action),
        by_model=await grouped(model_key),
        by_day=await grouped(day),
    )
