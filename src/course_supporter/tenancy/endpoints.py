"""Who am I: the caller's tenant, scopes, key and limits."""

from __future__ import annotations

from cachetools import LRUCache
from fastapi import APIRouter, Response

from course_supporter.http_errors import error_responses
from course_supporter.tenancy.auth import ReadTenant
from course_supporter.tenancy.context import TenantContext
from course_supporter.tenancy.schemas import Limits, MeOut, RateLimits
from course_supporter.tenancy.scopes import Scope

router = APIRouter(
    prefix="/api/v1", tags=["tenancy"], responses=error_responses(401, 403, 429, 503)
)


# The body of /me, rendered once per authenticated context. A context never changes: the key
# cache replaces it with a new object when the key or its tenant changes, so an entry is keyed by
# the context's identity and holds the context itself (its id cannot be reused while it lives).
_rendered: LRUCache[int, tuple[TenantContext, bytes]] = LRUCache(maxsize=4096)


@router.get("/me", response_model=MeOut)
async def get_me(tenant: ReadTenant) -> Response:
    """The tenant, scopes, key prefix, rate limits and expiry of the calling key, and the
    deployment's limits (the largest upload)."""
    entry = _rendered.get(id(tenant))
    if entry is None or entry[0] is not tenant:
        entry = (tenant, _render_me(tenant))
        _rendered[id(tenant)] = entry
    # Bytes, not the model: returned as a model, it would be dumped, the dump validated against
    # `response_model` again and then serialised, on every request (benchmarks/auth_overhead.py).
    # The schema is still MeOut's (`response_model`).
    return Response(entry[1], media_type="application/json")


def _render_me(tenant: TenantContext) -> bytes:
    me = MeOut(
        tenant_id=tenant.tenant_id,
        tenant_name=tenant.tenant_name,
        scopes=sorted(scope.value for scope in tenant.scopes),
        key_prefix=tenant.key_prefix,
        rate_limits=RateLimits(
            prep=tenant.limit_for(Scope.PREP), check=tenant.limit_for(Scope.CHECK)
        ),
        expires_at=tenant.expires_at,
        review_threshold=tenant.review_threshold,
        limits=Limits(max_upload_bytes=tenant.max_upload_bytes),
    )
    return me.model_dump_json().encode()
