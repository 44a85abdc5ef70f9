"""API key authentication, scope checks and rate limits as typed FastAPI dependencies."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn

import structlog
from cachetools import TTLCache
from fastapi import Depends, Request
from fastapi.security import APIKeyHeader
from starlette.types import Scope as ASGIScope

from course_supporter.config import Settings
from course_supporter.db import Database
from course_supporter.errors import (
    DependencyUnavailableError,
    ForbiddenError,
    TooManyRequestsError,
    UnauthenticatedError,
)
from course_supporter.tenancy import keys
from course_supporter.tenancy.context import TenantContext
from course_supporter.tenancy.ratelimit import RateLimiter, RateLimitUnavailableError
from course_supporter.tenancy.repository import ApiKeyRepository
from course_supporter.tenancy.scopes import Scope
from course_supporter.tenancy.service import authenticate_key, current_contexts

log = structlog.get_logger(__name__)

# Past this many keys the least recently used entry makes room (one database read when it
# comes back), rather than the whole cache.
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
        self.settings = settings
        self.limiter = limiter
        self.ttl = settings.api_key_cache_ttl_seconds
        self.flush_interval = settings.last_used_flush_seconds
        self.revalidate_interval = settings.api_key_revalidate_seconds
        # key hash -> (context, the key's expiry as a POSIX timestamp or +inf): comparing floats
        # costs a tenth of building and comparing an aware datetime on every request.
        self._cache: TTLCache[str, tuple[TenantContext, float]] = TTLCache(
            maxsize=_CACHE_MAX_ENTRIES, ttl=self.ttl or 1.0
        )
        self._last_used: dict[uuid.UUID, float] = {}

    def cached(self, raw_key: str) -> TenantContext | None:
        """A key validated within the TTL and not expired since; no I/O."""
        try:
            key_hash = keys.hash_key(raw_key)
        except UnicodeEncodeError:
            return None
        # Only well-formed keys are ever cached, so a hit needs no format check.
        try:
            entry = self._cache[key_hash]
        except KeyError:
            return None
        return self._used(key_hash, entry)

    async def resolve(self, raw_key: str) -> TenantContext | None:
        """The key's tenant from the cache or the database; None for every kind of bad key."""
        context = self.cached(raw_key)
        if context is not None or not keys.is_well_formed(raw_key):
            return context
        async with self.db.sessions() as session:
            context = await authenticate_key(session, raw_key, self.settings)
        if context is None:
            return None
        key_hash = keys.hash_key(raw_key)
        entry = (context, _expiry_timestamp(context))
        if self.ttl > 0:
            self._cache[key_hash] = entry
        return self._used(key_hash, entry)

    def _used(self, key_hash: str, entry: tuple[TenantContext, float]) -> TenantContext | None:
        now = time.time()
        if entry[1] <= now:
            self._cache.pop(key_hash, None)
            return None
        self._last_used[entry[0].key_id] = now
        return entry[0]

    async def revalidate(self) -> None:
        """Replace every cached context with what its key admits now; drop the unusable.

        A replaced entry's TTL starts again: it has just been read from the database.
        """
        self._cache.expire()
        if not self._cache:
            return
        snapshot = {key_hash: entry[0].key_id for key_hash, entry in self._cache.items()}
        try:
            async with self.db.sessions() as session:
                current = await current_contexts(session, set(snapshot.values()), self.settings)
        except Exception as exc:
            # Entries stay until their TTL; the next round tries again.
            log.warning("api_key_revalidation_failed", keys=len(snapshot), error=repr(exc)[:200])
            return
        for key_hash, key_id in snapshot.items():
            if key_hash not in self._cache:
                continue
            context = current.get(key_id)
            if context is None:
                del self._cache[key_hash]
            else:
                self._cache[key_hash] = (context, _expiry_timestamp(context))

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
            async with self.db.transaction() as session:
                await ApiKeyRepository(session).set_last_used(
                    {key_id: datetime.fromtimestamp(at, UTC) for key_id, at in pending.items()}
                )
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


def _expiry_timestamp(context: TenantContext) -> float:
    return math.inf if context.expires_at is None else context.expires_at.timestamp()


API_KEY_HEADER = "X-API-Key"
_API_KEY_DESCRIPTION = "A tenant API key: `cs_live_` followed by 32 lowercase hex characters."


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _limits_unavailable() -> DependencyUnavailableError:
    return DependencyUnavailableError("Rate limiting is unavailable; retry shortly", retry_after=5)


async def authenticate(request: Request, raw_key: str | None) -> TenantContext:
    """The caller's tenant, or 401; 429 instead once the address has failed too often.

    A key that resolves always passes: failures are counted per client address, and only the
    failing attempts are refused, so guessing from an address never locks out a good key.
    """
    authenticator: Authenticator = request.app.state.authenticator
    context = authenticator.cached(raw_key) if raw_key else None
    if context is None:
        context = await _resolve_or_refuse(authenticator, raw_key, request)
    request.scope.setdefault("state", {})["tenant_id"] = context.tenant_id
    return context


async def _resolve_or_refuse(
    authenticator: Authenticator, raw_key: str | None, request: Request
) -> TenantContext:
    context = await authenticator.resolve(raw_key) if raw_key else None
    if context is None:
        await _refuse(authenticator.limiter, client_address(request))
    return context


async def _refuse(limiter: RateLimiter, client: str) -> NoReturn:
    try:
        within_limit = await limiter.record_auth_failure(client)
    except RateLimitUnavailableError as exc:
        raise _limits_unavailable() from exc
    if not within_limit:
        raise TooManyRequestsError(
            "Too many failed authentication attempts; wait a minute and retry", retry_after=60
        )
    raise UnauthenticatedError(UNAUTHORIZED_DETAIL)


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
        # `Scope.value` is a descriptor call per read; the names are read on every request.
        self._accepted = [(scope, scope.value) for scope in accepted]
        self._needs = " or ".join(f"'{scope.value}'" for scope in accepted)

    async def __call__(self, request: Request) -> TenantContext:  # type: ignore[override]
        scope = request.scope
        authenticator: Authenticator = scope["app"].state.authenticator
        raw_key = _raw_api_key(scope)
        context = authenticator.cached(raw_key) if raw_key else None
        if context is None:
            context = await _resolve_or_refuse(authenticator, raw_key, request)
        state = scope.setdefault("state", {})
        state["tenant_id"] = context.tenant_id
        for accepted, name in self._accepted:
            if accepted in context.scopes:
                await _charge(authenticator.limiter, state, context, accepted, name, 1)
                return context
        raise ForbiddenError(f"This API key needs scope {self._needs}")


_API_KEY_HEADER_NAME = API_KEY_HEADER.lower().encode("latin-1")


def _raw_api_key(scope: ASGIScope) -> str | None:
    """The `X-API-Key` header, read from the ASGI scope: a third of `Headers.get`'s cost."""
    name: bytes
    value: bytes
    for name, value in scope["headers"]:
        if name == _API_KEY_HEADER_NAME:
            return value.decode("latin-1")
    return None


async def charge_scope(
    request: Request, context: TenantContext, scope: Scope, amount: int = 1
) -> None:
    """Count `amount` requests against the key's limit in `scope`; 429 (counting none) if over."""
    limiter: RateLimiter = request.app.state.authenticator.limiter
    state = request.scope.setdefault("state", {})
    await _charge(limiter, state, context, scope, scope.value, amount)


async def _charge(
    limiter: RateLimiter,
    state: dict[str, Any],
    context: TenantContext,
    scope: Scope,
    name: str,
    amount: int,
) -> None:
    try:
        decision = await limiter.hit(context.tenant_id, name, context.rate_limits[scope], amount)
    except RateLimitUnavailableError as exc:
        raise _limits_unavailable() from exc
    # The request middleware adds these to whatever response follows, this 429 included.
    state["rate_limit_headers"] = decision.raw_headers()
    if not decision.allowed:
        # Retry-After is among the rate-limit headers just stored, not repeated here.
        raise TooManyRequestsError(
            f"Rate limit of {decision.limit} requests per minute for scope "
            f"'{name}' exceeded; retry after {decision.reset_after} s"
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
