"""API shape of the cost report."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel


class CostLine(BaseModel):
    key: str
    calls: int
    failed_calls: int
    tokens_in: int
    tokens_out: int
    cost_usd: Decimal


class CostReport(BaseModel):
    tenant_id: str | None
    date_from: dt.date | None
    date_to: dt.date | None
    total: CostLine
    by_action: list[CostLine]
    by_model: list[CostLine]
    by_day: list[CostLine]
