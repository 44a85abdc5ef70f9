"""Sliding-window rate limits per (tenant, scope), in process or shared through Redis."""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass

import structlog
from limits import parse
from limits.aio.storage import MemoryStorage, RedisStorage

from course_supporter.config import Settings

log = structlog.get_logger(__name__)

_REDIS_TIMEOUT_SECONDS = 0.5
_WINDOW_SECONDS = 60


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: int

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_after),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, self.reset_after))
        return headers


class InProcessStorage(MemoryStorage):
    """`limits`' in-process storage, sweeping expired window entries at most once a second.

    Upstream starts a sweep task on every hit once the previous sweep has finished, i.e. on
    nearly every request under load; each sweep hops to a worker thread and copies every
    key's moving-window list. At high limits (tens of thousands of entries a minute) that
    sweep cost more than the whole request. Correctness does not depend on it: window reads
    bisect by timestamp and ignore expired entries; the sweep only bounds memory.
    """

    SWEEP_INTERVAL_SECONDS = 1.0

    def __init__(self) -> None:
        super().__init__()
        self._next_sweep = 0.0

    async def _MemoryStorage__schedule_expiry(self) -> None:
        # Overrides upstream's private `__schedule_expiry` (name-mangled); a test pins that
        # the hook still exists in the installed `limits`.
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.SWEEP_INTERVAL_SECONDS
        await super()._MemoryStorage__schedule_expiry()  # type: ignore[misc]


class RateLimitUnavailableError(Exception):
    """The shared limit store is down and the service is configured to fail closed."""


class RateLimiter:
    """Moving-window limiter; Redis when `REDIS_URL` is set, so all processes share the counts."""

    def __init__(self, settings: Settings, *, key_prefix: str = "course_supporter") -> None:
        self.storage: MemoryStorage | RedisStorage
        if settings.redis_url:
            self.storage = RedisStorage(
                "async+" + settings.redis_url,
                implementation="redispy",
                key_prefix=key_prefix,
                socket_timeout=_REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=_REDIS_TIMEOUT_SECONDS,
            )
        else:
            self.storage = InProcessStorage()
        self.shared = settings.redis_url is not None
        self.fail_open = settings.rate_limit_fail_open
        auth_failures = parse(settings.auth_failure_limit)
        self._auth_failure_limit = auth_failures.amount
        self._auth_failure_window = auth_failures.get_expiry()
        self._last_outage_log = 0.0

    # The storage's moving-window operations are called directly (what `limits`'
    # MovingWindowRateLimiter does inside) with keys built once here: this runs on every
    # request, and the strategy's generic key building was a measurable share of it.

    async def hit(self, tenant_id: uuid.UUID, scope: str, per_minute: int) -> RateDecision:
        key = f"tenant/{tenant_id}/{scope}/{per_minute}"
        try:
            allowed = await self.storage.acquire_entry(key, per_minute, _WINDOW_SECONDS)
            window_start, used = await self.storage.get_moving_window(
                key, per_minute, _WINDOW_SECONDS
            )
        except Exception as exc:
            return self._outage(exc, per_minute)
        reset_after = max(0, math.ceil(window_start + _WINDOW_SECONDS - time.time()))
        return RateDecision(allowed, per_minute, max(0, per_minute - used), reset_after)

    async def auth_failures_exceeded(self, client: str) -> bool:
        """True once a client address has failed authentication too often in the window."""
        try:
            _, failures = await self.storage.get_moving_window(
                f"authfail/{client}", self._auth_failure_limit, self._auth_failure_window
            )
        except Exception as exc:
            self._outage(exc, 0)
            return False
        return failures >= self._auth_failure_limit

    async def record_auth_failure(self, client: str) -> None:
        try:
            await self.storage.acquire_entry(
                f"authfail/{client}", self._auth_failure_limit, self._auth_failure_window
            )
        except Exception as exc:
            self._outage(exc, 0)

    async def ping(self) -> None:
        if not await self.storage.check():
            raise ConnectionError("rate limit store did not answer")

    async def reset(self) -> None:
        await self.storage.reset()

    def _outage(self, exc: Exception, per_minute: int) -> RateDecision:
        now = time.monotonic()
        if now - self._last_outage_log > 10:
            self._last_outage_log = now
            log.warning(
                "rate_limit_store_unavailable",
                error=f"{type(exc).__name__}: {exc}",
                fail_open=self.fail_open,
            )
        if not self.fail_open:
            raise RateLimitUnavailableError(str(exc)) from exc
        return RateDecision(True, per_minute, per_minute, 60)
