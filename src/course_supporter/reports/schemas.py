"""API shape of the cost report."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, PlainSerializer

ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: object) -> object:
    """A day as `YYYY-MM-DD` only: pydantic would read `0` as 1970-01-01 (a Unix time)."""
    if not (isinstance(value, dt.date) or (isinstance(value, str) and ISO_DAY.fullmatch(value))):
        raise ValueError("use a date like 2026-11-30")
    return value


ReportDay = Annotated[dt.date, BeforeValidator(_iso_day)]
# Fixed-point text: "0.00000000", never Decimal's exponent form "0E-8".
UsdAmount = Annotated[Decimal, PlainSerializer(lambda value: f"{value:f}", return_type=str)]


class CostLine(BaseModel):
    key: str
    calls: int
    failed_calls: int
    tokens_in: int
    tokens_out: int
    cost_usd: UsdAmount


class CostReport(BaseModel):
    tenant_id: str | None
    date_from: dt.date | None
    date_to: dt.date | None
    total: CostLine
    by_action: list[CostLine]
    by_model: list[CostLine]
    by_day: list[CostLine]
