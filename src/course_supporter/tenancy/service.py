"""Tenant and API key rules: creation, rotation, revocation, and authenticating a raw key."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from course_supporter.config import Settings
from course_supporter.db import utcnow
from course_supporter.errors import ConflictError, InvalidInputError, NotFoundError
from course_supporter.tenancy import keys
from course_supporter.tenancy.context import TenantContext
from course_supporter.tenancy.models import ApiKey, Tenant
from course_supporter.tenancy.repository import ApiKeyRepository, TenantRepository
from course_supporter.tenancy.scopes import Scope, UnknownScopeError, parse_scopes

MAX_TENANT_NAME = 100
_KNOWN_SCOPES = {scope.value for scope in Scope}


@dataclass(frozen=True)
class IssuedKey:
    """A freshly issued key: the only place the raw key ever exists."""

    raw_key: str
    api_key: ApiKey
    tenant: Tenant


async def create_tenant(session: AsyncSession, name: str) -> Tenant:
    name = name.strip()
    if not name or len(name) > MAX_TENANT_NAME or not name.isprintable():
        raise InvalidInputError(f"tenant name must be 1-{MAX_TENANT_NAME} printable characters")
    repo = TenantRepository(session)
    if await repo.get_by_name(name) is not None:
        raise ConflictError(f"tenant {name!r} already exists")
    tenant = await repo.add(Tenant(name=name))
    await session.flush()
    return tenant


async def get_tenant(session: AsyncSession, name: str) -> Tenant:
    tenant = await TenantRepository(session).get_by_name(name)
    if tenant is None:
        raise NotFoundError(f"no tenant named {name!r}")
    return tenant


async def list_tenants(session: AsyncSession) -> Sequence[Tenant]:
    return await TenantRepository(session).list_all()


async def set_tenant_active(session: AsyncSession, name: str, *, active: bool) -> Tenant:
    tenant = await get_tenant(session, name)
    tenant.is_active = active
    await session.flush()
    return tenant


async def set_review_threshold(session: AsyncSession, name: str, threshold: float | None) -> Tenant:
    """Set the confidence below which the tenant's verdicts need a teacher; None: the default."""
    if threshold is not None and not 0 <= threshold <= 1:
        raise InvalidInputError("the review threshold must be between 0 and 1")
    tenant = await get_tenant(session, name)
    tenant.review_threshold = threshold
    await session.flush()
    return tenant


async def review_threshold(session: AsyncSession, tenant_id: uuid.UUID) -> float | None:
    """The tenant's own needs_review threshold, if it has one."""
    return await TenantRepository(session).review_threshold(tenant_id)


def effective_review_threshold(threshold: float | None, settings: Settings) -> float:
    return settings.grading_review_below if threshold is None else threshold


async def issue_key(
    session: AsyncSession,
    tenant_name: str,
    *,
    scopes: list[str] | str,
    label: str | None = None,
    rate_prep: int,
    rate_check: int,
    expires_in: timedelta | None = None,
) -> IssuedKey:
    try:
        parsed_scopes = parse_scopes(scopes)
    except UnknownScopeError as exc:
        raise InvalidInputError(str(exc)) from exc
    if rate_prep < 1 or rate_check < 1:
        raise InvalidInputError("rate limits must be at least 1 request per minute")
    tenant = await get_tenant(session, tenant_name)
    repo = ApiKeyRepository(session)
    raw_key = keys.generate_key()
    while await repo.prefix_taken(keys.display_prefix(raw_key)):
        raw_key = keys.generate_key()
    api_key = await repo.add(
        ApiKey(
            tenant_id=tenant.id,
            key_hash=keys.hash_key(raw_key),
            key_prefix=keys.display_prefix(raw_key),
            label=label,
            scopes=[scope.value for scope in parsed_scopes],
            rate_limit_prep=rate_prep,
            rate_limit_check=rate_check,
            expires_at=utcnow() + expires_in if expires_in else None,
        )
    )
    await session.flush()
    return IssuedKey(raw_key=raw_key, api_key=api_key, tenant=tenant)


async def list_keys(session: AsyncSession, tenant_name: str) -> Sequence[ApiKey]:
    tenant = await get_tenant(session, tenant_name)
    return await ApiKeyRepository(session).list_for_tenant(tenant.id)


async def _key_by_prefix(session: AsyncSession, prefix: str) -> ApiKey:
    if len(prefix) < len(keys.KEY_PREFIX) + 4:
        raise InvalidInputError(f"give at least {len(keys.KEY_PREFIX) + 4} characters of the key")
    found = await ApiKeyRepository(session).find_by_prefix(prefix)
    if not found:
        raise NotFoundError(f"no API key starts with {prefix!r}")
    if len(found) > 1:
        raise ConflictError(f"{len(found)} keys start with {prefix!r}; give more characters")
    return found[0]


async def revoke_key(session: AsyncSession, prefix: str) -> ApiKey:
    api_key = await _key_by_prefix(session, prefix)
    api_key.is_active = False
    await session.flush()
    return api_key


async def rotate_key(session: AsyncSession, prefix: str, *, grace: timedelta) -> IssuedKey:
    """Issue a successor with the same tenant, scopes and limits; the old key dies after `grace`."""
    old = await _key_by_prefix(session, prefix)
    if not old.is_active:
        raise ConflictError(f"key {old.key_prefix} is revoked; issue a new key instead")
    now = utcnow()
    if old.expires_at is not None and old.expires_at <= now:
        raise ConflictError(
            f"key {old.key_prefix} expired at {old.expires_at:%Y-%m-%d %H:%M:%S} UTC; "
            "issue a new key instead"
        )
    tenant = await session.get_one(Tenant, old.tenant_id)
    remaining = old.expires_at - now if old.expires_at else None
    issued = await issue_key(
        session,
        tenant.name,
        scopes=list(old.scopes),
        label=old.label,
        rate_prep=old.rate_limit_prep,
        rate_check=old.rate_limit_check,
        expires_in=remaining,
    )
    old_end = now + grace
    old.expires_at = old_end if old.expires_at is None else min(old.expires_at, old_end)
    await session.flush()
    return issued


async def authenticate_key(
    session: AsyncSession, raw_key: str, settings: Settings
) -> TenantContext | None:
    """Resolve a raw key to its tenant; None for unknown, revoked, expired or inactive."""
    if not keys.is_well_formed(raw_key):
        return None
    found = await ApiKeyRepository(session).get_by_hash_with_tenant(keys.hash_key(raw_key))
    return None if found is None else tenant_context(*found, settings)


async def current_contexts(
    session: AsyncSession, key_ids: Collection[uuid.UUID], settings: Settings
) -> dict[uuid.UUID, TenantContext | None]:
    """What each key admits now (None: no longer usable), read in one query per 500 keys."""
    found: dict[uuid.UUID, TenantContext | None] = dict.fromkeys(key_ids)
    ids = list(key_ids)
    repo = ApiKeyRepository(session)
    for start in range(0, len(ids), 500):
        for api_key, tenant in await repo.get_with_tenants(ids[start : start + 500]):
            found[api_key.id] = tenant_context(api_key, tenant, settings)
    return found


def tenant_context(api_key: ApiKey, tenant: Tenant, settings: Settings) -> TenantContext | None:
    """The context a key admits, or None when it is revoked, expired or its tenant inactive."""
    if not api_key.is_active or not tenant.is_active:
        return None
    if api_key.expires_at is not None and api_key.expires_at <= utcnow():
        return None
    return TenantContext(
        tenant_id=tenant.id,
        tenant_name=tenant.name,
        key_id=api_key.id,
        key_prefix=api_key.key_prefix,
        scopes=frozenset(Scope(s) for s in api_key.scopes if s in _KNOWN_SCOPES),
        rate_limits={Scope.PREP: api_key.rate_limit_prep, Scope.CHECK: api_key.rate_limit_check},
        expires_at=api_key.expires_at,
        review_threshold=effective_review_threshold(tenant.review_threshold, settings),
        max_upload_bytes=settings.max_upload_bytes,
    )
