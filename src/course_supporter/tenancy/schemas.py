"""API shapes of the tenancy domain."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class RateLimits(BaseModel):
    prep: int
    check: int


class Limits(BaseModel):
    """Limits of the deployment a client checks before sending (the panel: uploads)."""

    max_upload_bytes: int


class MeOut(BaseModel):
    tenant_id: uuid.UUID
    tenant_name: str
    scopes: list[str]
    key_prefix: str
    rate_limits: RateLimits
    expires_at: datetime | None
    review_threshold: float = Field(
        description="Verdicts with a confidence below this are flagged needs_review"
    )
    limits: Limits
