"""The authenticated caller, as every endpoint sees it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from course_supporter.tenancy.scopes import Scope


@dataclass(frozen=True, slots=True)
class TenantContext:
    tenant_id: uuid.UUID
    tenant_name: str
    key_id: uuid.UUID
    key_prefix: str
    scopes: frozenset[Scope]
    rate_limits: dict[Scope, int]
    expires_at: datetime | None
    review_threshold: float | None = None
    """The tenant's needs_review confidence threshold; None: the GRADING_REVIEW_BELOW setting."""

    def limit_for(self, scope: Scope) -> int:
        return self.rate_limits[scope]
