"""The authenticated caller, as every endpoint sees it: who, what it may do, and its limits."""

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
    review_threshold: float
    """Verdicts below this confidence are flagged needs_review: the tenant's own threshold, or
    the deployment's (`GRADING_REVIEW_BELOW`)."""
    max_upload_bytes: int
    """The largest upload this caller may send (the deployment's `MAX_UPLOAD_BYTES`)."""

    def limit_for(self, scope: Scope) -> int:
        return self.rate_limits[scope]
