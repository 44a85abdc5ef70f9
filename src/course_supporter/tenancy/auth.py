"""API key authentication, scope checks and rate limits as typed FastAPI dependencies."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import datetime
from typing import Annotated, NoReturn

import structlog
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader

from course_supporter.config import Settings
from course_supporter.db import Database, utcnow
from course_supporter.tenancy import keys
from course_supporter.tenancy.context import TenantContext
from course_supporter.tenancy.ratelimit import RateLimiter, RateLimitUnavailableError
from course_supporter.tenancy.repository import ApiKeyRepository
from course_supporter.tenancy.scopes import Scope
from course_supporter.tenancy.service import authenticate_key, current_contexts

log = structlog.get_logger(__name__)

_CACHE_MAX_ENTRIES = 10_000
UNAUTHORIZED_DETAIL = "Invalid or missing API key"


class Authenticator:
    """Resolves raw keys through a short-TTL cache; coalesces `last_used_at` writes.

    Cached keys are re-read from the database every `API_KEY_REVALIDATE_SECONDS`, all in one
    query: a rotation's grace, a revocation or a deactivation made by another process (the
    CLI) reaches every cached entry within that, not only when the entry's TTL runs out.
    """

    def __init__(self, db: Database, settings: Settings, limiter: RateLimiter) -> None:
        self.db = db
        self.limiter = limiter
        self.ttl = settings.api_key_cache_ttl_seconds
        self.flush_interval = settings.last_used_flush_seconds
        self.revalidate_interval = settings.api_key_revalidate_seconds
        self._cache: dict[str, tuple[float, TenantContext]] = {}
        self._last_used: dict[uuid.UUID, datetime] = {}

    def cached(self, raw_key: str) -> TenantContext | None:
        """A key validated within the TTL and not expired since; no I/O."""
        if not keys.is_well_formed(raw_key):
            return None
        key_hash = keys.hash_key(raw_key)
        entry = self._cache.get(key_hash)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return self._used(key_hash, entry[1])

    async def resolve(self, raw_key: str) -> TenantContext | None:
        """The key's tenant from the cache or the database; None for every kind of bad key."""
        context = self.cached(raw_key)
        if context is not None or not keys.is_well_formed(raw_key):
            return context
        async with self.db.sessions() as session:
            context = await authenticate_key(session, raw_key)
        if context is None:
            return None
        key_hash = keys.hash_key(raw_key)
        if self.ttl > 0:
            if len(self._cache) >= _CACHE_MAX_ENTRIES:
                self._cache.clear()
            self._cache[key_hash] = (time.monotonic() + self.ttl, context)
        return self._used(key_hash, context)

    def _used(self, key_hash: str, context: TenantContext) -> TenantContext | None:
        now = utcnow()
        if context.expires_at is not None and context.expires_at <= now:
            self._cache.pop(key_hash, None)
            return None
        self._last_used[context.key_id] = now
        return context

    async def revalidate(self) -> None:
        """Replace every cached context with what its key admits now; drop the unusable."""
        if not self._cache:
            return
        snapshot = {key_hash: entry[1].key_id for key_hash, entry in self._cache.items()}
        try:
            async with self.db.sessions() as session:
                current = await current_contexts(session, set(snapshot.values()))
        except Exception as exc:
            # Entries stay until their TTL; the next round tries again.
            log.warning("api_key_revalidation_failed", keys=len(snapshot), error=repr(exc)[:200])
            return
        for key_hash, key_id in snapshot.items():
            entry = self._cache.get(key_hash)
            if entry is None:
                continue
            context = current.get(key_id)
            if context is None:
                del self._cache[key_hash]
            else:
                self._cache[key_hash] = (entry[0], context)

    async def run_revalidator(self) -> None:
        """Background loop: cached keys follow the database within the revalidation interval."""
        while True:
            await asyncio.sleep(self.revalidate_interval)
            await self.revalidate()

    async def flush_last_used(self) -> None:
        if not self._last_used:
            return
        pending, self._last_used = self._last_used, {}
        try:
            async with self.db.sessions() as session:
                await ApiKeyRepository(session).set_last_used(pending)
                await session.commit()
        except Exception:
            log.exception("last_used_flush_failed", keys=len(pending))

    async def run_flusher(self) -> None:
        """Background loop: one batched write per interval instead of one per request."""
        try:
            while True:
                await asyncio.sleep(self.flush_interval)
                await self.flush_last_used()
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await self.flush_last_used()
            raise


API_KEY_HEADER = "X-API-Key"
_API_KEY_DESCRIPTION = "A tenant API key: `cs_live_` followed by 32 lowercase hex characters."


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _unauthorized() -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, UNAUTHORIZED_DETAIL, headers={"WWW-Authenticate": "ApiKey"}
    )


def _limits_unavailable() -> HTTPException:
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        "Rate limiting is unavailable; retry shortly",
        headers={"Retry-After": "5"},
    )


async def authenticate(request: Request, raw_key: str | None) -> TenantContext:
    """The caller's tenant, or 401; 429 instead once the address has failed too often.

    A key that resolves always passes: failures are counted per client address, and only the
    failing attempts are refused, so guessing from an address never locks out a good key.
    """
    authenticator: Authenticator = request.app.state.authenticator
    context = authenticator.cached(raw_key) if raw_key else None
    if context is None:
        context = await authenticator.resolve(raw_key) if raw_key else None
        if context is None:
            await _refuse(authenticator.limiter, client_address(request))
    request.scope.setdefault("state", {})["tenant_id"] = context.tenant_id
    return context


async def _refuse(limiter: RateLimiter, client: str) -> NoReturn:
    try:
        within_limit = await limiter.record_auth_failure(client)
    except RateLimitUnavailableError as exc:
        raise _limits_unavailable() from exc
    if not within_limit:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "Too many failed authentication attempts; wait a minute and retry",
            headers={"Retry-After": "60"},
        )
    raise _unauthorized()


class ScopedApiKey(APIKeyHeader):
    """The `X-API-Key` security scheme as ONE dependency: authenticate, check scope, rate-limit.

    Being an `APIKeyHeader`, it is what OpenAPI shows (the Authorize button, the operation's
    `security`). Being a single dependency rather than a chain (scope check → authentication
    → header scheme), FastAPI resolves one level per request instead of three; on a cached key
    that resolution was most of the cost of an authenticated request.
    """

    def __init__(self, *accepted: Scope) -> None:
        super().__init__(
            name=API_KEY_HEADER,
            scheme_name="APIKeyHeader",
            description=_API_KEY_DESCRIPTION,
            auto_error=False,
        )
        self.accepted_scopes = accepted
        self._needs = " or ".join(f"'{scope.value}'" for scope in accepted)

    async def __call__(self, request: Request) -> TenantContext:  # type: ignore[override]
        context = await authenticate(request, _raw_api_key(request))
        for scope in self.accepted_scopes:
            if scope in context.scopes:
                await charge_scope(request, context, scope)
                return context
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"This API key needs scope {self._needs}")


_API_KEY_HEADER_NAME = API_KEY_HEADER.lower().encode("latin-1")


def _raw_api_key(request: Request) -> str | None:
    """The `X-API-Key` header, read from the ASGI scope: a third of `Headers.get`'s cost."""
    name: bytes
    value: bytes
    for name, value in request.scope["headers"]:
        if name == _API_KEY_HEADER_NAME:
            return value.decode("latin-1")
    return None


async def charge_scope(
    request: Request, context: TenantContext, scope: Scope, amount: int = 1
) -> None:
    """Count `amount` requests against the key's limit in `scope`; 429 (counting none) if over."""
    limiter: RateLimiter = request.app.state.authenticator.limiter
    try:
        decision = await limiter.hit(
            context.tenant_id, scope.value, context.limit_for(scope), amount
        )
    except RateLimitUnavailableError as exc:
        raise _limits_unavailable() from exc
    # The request middleware adds these to whatever response follows, this 429 included.
    request.scope.setdefault("state", {})["rate_limit_headers"] = decision.raw_headers()
    if not decision.allowed:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"Rate limit of {decision.limit} requests per minute for scope "
            f"'{scope.value}' exceeded; retry after {decision.reset_after} s",
        )


def require_scope(*accepted: Scope) -> ScopedApiKey:
    """A dependency admitting keys that hold any of `accepted`; it rate-limits that scope."""
    return ScopedApiKey(*accepted)


PrepTenant = Annotated[TenantContext, Depends(require_scope(Scope.PREP))]
"""Authoring endpoints: the key must hold `prep`."""

CheckTenant = Annotated[TenantContext, Depends(require_scope(Scope.CHECK))]
"""Mentoring endpoints: the key must hold `check`."""

ReadTenant = Annotated[TenantContext, Depends(require_scope(Scope.CHECK, Scope.PREP))]
"""Read endpoints: `check` or `prep`; counted against `check` when the key holds it."""
