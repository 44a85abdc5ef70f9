"""Sliding-window rate limits per (tenant, scope), in process or shared through Redis."""

from __future__ import annotations

import functools
import inspect
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Concatenate, ParamSpec, TypeVar

import structlog
from limits import parse
from limits.aio.storage import RedisStorage

from course_supporter.config import Settings
from course_supporter.errors import DependencyUnavailableError

log = structlog.get_logger(__name__)

_WINDOW = 60


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: int

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """`RateLimit-*` response headers, and `Retry-After` when refused, ready for ASGI."""
        headers = [
            (b"ratelimit-limit", b"%d" % self.limit),
            (b"ratelimit-remaining", b"%d" % self.remaining),
            (b"ratelimit-reset", b"%d" % self.reset_after),
        ]
        if not self.allowed:
            headers.append((b"retry-after", b"%d" % max(1, self.reset_after)))
        return headers


T = TypeVar("T")


async def _settled(value: T | Awaitable[T]) -> T:
    """The result of a sync (in-process) or async (Redis) `limits` call."""
    if inspect.isawaitable(value):
        return await value
    return value


class LocalWindowStorage:
    """The sliding window counter of `limits`' storages, held in this process.

    Same operations and arithmetic as `limits`' Redis and memory storages (a test holds it to
    `limits.storage.MemoryStorage` step by step), so the limiter treats both stores alike.
    `limits`' own memory storage expires keys from a timer thread it starts every 10 ms while
    counting; at thousands of requests per second that thread's start-up and its turns at the
    GIL cost about 20 us of a 200 us authenticated request. Here a key keeps its window's count
    and the previous one's and rolls forward when touched; keys idle for two windows are swept
    at most once a minute. Not thread-safe: only the event loop's thread calls it.
    """

    _SWEEP_SECONDS = 60.0

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        # key -> (window seconds, window number, count in it, count in the one before)
        self._windows: dict[str, tuple[int, int, int, int]] = {}
        self._next_sweep = clock() + self._SWEEP_SECONDS

    def acquire_sliding_window_entry(
        self, key: str, limit: int, expiry: int, amount: int = 1
    ) -> bool:
        if amount > limit:
            return False
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        number, current, previous = self._counts(key, expiry, now)
        weight = self._previous_ttl(previous, expiry, now) / expiry
        if math.floor(previous * weight + current) + amount > limit:
            return False
        self._windows[key] = (expiry, number, current + amount, previous)
        return True

    def get_sliding_window(self, key: str, expiry: int) -> tuple[int, float, int, float]:
        """(previous count, seconds it still weighs, current count, seconds it lives)."""
        now = self._clock()
        _, current, previous = self._counts(key, expiry, now)
        current_ttl = (1 - (now / expiry) % 1) * expiry + expiry
        return previous, self._previous_ttl(previous, expiry, now), current, current_ttl

    def acquire_and_read(
        self, key: str, limit: int, expiry: int, amount: int = 1
    ) -> tuple[bool, tuple[int, float, int, float]]:
        """`acquire_sliding_window_entry` then `get_sliding_window`, on one reading of the clock
        and one lookup of the key: the in-process limiter's whole work for a request."""
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        number, current, previous = self._counts(key, expiry, now)
        previous_ttl = self._previous_ttl(previous, expiry, now)
        weight = previous_ttl / expiry
        allowed = amount <= limit and math.floor(previous * weight + current) + amount <= limit
        if allowed:
            current += amount
            self._windows[key] = (expiry, number, current, previous)
        current_ttl = (1 - (now / expiry) % 1) * expiry + expiry
        return allowed, (previous, previous_ttl, current, current_ttl)

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        """Forget every count; how many keys there were."""
        count = len(self._windows)
        self._windows.clear()
        return count

    def __len__(self) -> int:
        """Keys held."""
        return len(self._windows)

    def _counts(self, key: str, expiry: int, now: float) -> tuple[int, int, int]:
        number = int(now // expiry)
        seen = self._windows.get(key)
        if seen is None or seen[1] < number - 1:
            return number, 0, 0
        if seen[1] == number - 1:
            return number, 0, seen[2]
        return number, seen[2], seen[3]

    @staticmethod
    def _previous_ttl(previous: int, expiry: int, now: float) -> float:
        return (1 - ((now - expiry) / expiry) % 1) * expiry if previous else 0.0

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + self._SWEEP_SECONDS
        stale = [
            key
            for key, (expiry, number, _, _) in self._windows.items()
            if number < int(now // expiry) - 1
        ]
        for key in stale:
            del self._windows[key]


class RateLimitUnavailableError(Exception):
    """The shared limit store is down and the service is configured to fail closed."""


class StoreBreaker:
    """Stops waiting on a shared store that keeps failing.

    After `threshold` failures in a row (timeouts, refused connections) calls skip the store
    for `cooldown` seconds; then one call tries it again, and an answer closes the breaker.
    A black-holed Redis otherwise costs every request its socket timeout.
    """

    def __init__(
        self, threshold: int, cooldown: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self.failures = 0
        self.is_open = False
        self._next_try = 0.0
        self._opened_at = 0.0
        self._last_error = ""
        self._last_error_kind = ""

    def allows(self) -> bool:
        """Whether this call may use the store: always when closed, one call per cool-down."""
        if not self.is_open:
            return True
        now = self._clock()
        if now < self._next_try:
            return False
        self._next_try = now + self.cooldown
        return True

    def succeeded(self) -> None:
        if self.is_open:
            log.warning(
                "rate_limit_store_recovered",
                skipped_seconds=round(self._clock() - self._opened_at, 1),
            )
        self.failures = 0
        self.is_open = False

    def failed(self, exc: Exception) -> None:
        self.failures += 1
        self._last_error = f"{type(exc).__name__}: {exc}"
        self._last_error_kind = type(exc).__name__
        now = self._clock()
        if self.is_open:
            self._next_try = now + self.cooldown
        elif self.failures >= self.threshold:
            self.is_open = True
            self._opened_at = now
            self._next_try = now + self.cooldown
            log.warning(
                "rate_limit_store_skipped",
                failures=self.failures,
                cooldown_seconds=self.cooldown,
                error=self._last_error,
            )

    def skipping(self) -> str | None:
        """Why the store is being skipped right now, or None."""
        if not self.is_open:
            return None
        wait = max(0.0, self._next_try - self._clock())
        # The error's kind only: this text is shown by the unauthenticated /health (the
        # message, which may name the host, was logged when the breaker opened).
        return (
            f"skipped after {self.failures} failures in a row ({self._last_error_kind}); "
            f"next try in {wait:.0f} s"
        )


@functools.lru_cache(maxsize=4096)
def _tenant_window_key(tenant_id: uuid.UUID, scope: str) -> str:
    # Formatting a UUID costs more than the window arithmetic; a tenant's keys repeat.
    return f"tenant/{tenant_id}/{scope}"


P = ParamSpec("P")
Store = RedisStorage | LocalWindowStorage


async def _acquire(storage: Store, key: str, limit: int, window: int) -> bool:
    return await _settled(storage.acquire_sliding_window_entry(key, limit, window, 1))


async def _acquire_and_read(
    storage: Store, key: str, limit: int, window: int, amount: int = 1
) -> tuple[bool, tuple[int, float, int, float]]:
    allowed = await _settled(storage.acquire_sliding_window_entry(key, limit, window, amount))
    return allowed, await _settled(storage.get_sliding_window(key, window))


class RateLimiter:
    """Sliding-window-counter limiter; Redis when `REDIS_URL` is set, shared by every process.

    The sliding window counter (this minute's count plus last minute's, weighted by how much
    of it still overlaps the window) costs O(1) per request in memory and in Redis, where a
    moving-window log costs O(limit). When Redis fails, limits are counted in this process
    (or, failing closed, refused) until it answers again.
    """

    def __init__(self, settings: Settings, *, key_prefix: str = "course_supporter") -> None:
        self.local = LocalWindowStorage()
        self.redis: RedisStorage | None = None
        if settings.redis_url:
            self.redis = RedisStorage(
                "async+" + settings.redis_url,
                implementation="redispy",
                key_prefix=key_prefix,
                socket_timeout=settings.redis_timeout_seconds,
                socket_connect_timeout=settings.redis_timeout_seconds,
            )
        self.shared = self.redis is not None
        self.fail_open = settings.rate_limit_fail_open
        self.breaker = StoreBreaker(
            settings.redis_breaker_failures, settings.redis_breaker_cooldown_seconds
        )
        self._auth_failures = parse(settings.auth_failure_limit)
        self._last_outage_log = 0.0

    # The storage's sliding-window operations are called directly: the strategy object around
    # them builds keys and result tuples on every call, a third of a request's auth cost.

    async def hit(
        self, tenant_id: uuid.UUID, scope: str, per_minute: int, amount: int = 1
    ) -> RateDecision:
        """Count `amount` requests of the tenant in this scope against the key's limit, or none."""
        key = _tenant_window_key(tenant_id, scope)
        if self.redis is None:
            # In process there is nothing to await: the generic path's coroutines and checks
            # for awaitables cost more than the counting.
            allowed, window = self.local.acquire_and_read(key, per_minute, _WINDOW, amount)
        else:
            allowed, window = await self._run(_acquire_and_read, key, per_minute, _WINDOW, amount)
        previous, previous_expires_in, current, current_expires_in = window
        used = previous * previous_expires_in / _WINDOW + current
        # Seconds until one request fits again: the next weight of last minute to drop out,
        # or this minute's window rolling over.
        waits = [previous_expires_in % (_WINDOW / previous)] if previous else []
        waits += [current_expires_in % _WINDOW] if current else []
        reset_after = math.ceil(min(waits)) if waits else 0
        return RateDecision(allowed, per_minute, max(0, per_minute - math.floor(used)), reset_after)

    async def record_auth_failure(self, client: str) -> bool:
        """Count a failed authentication of a client address; False once it failed too often."""
        limit, window = self._auth_failures.amount, self._auth_failures.get_expiry()
        return await self._run(_acquire, f"authfail/{client}", limit, window)

    async def ping(self) -> None:
        if self.redis is None:
            return
        skipped = self.breaker.skipping()
        if skipped is not None:
            raise DependencyUnavailableError(skipped)
        if not await self.redis.check():
            raise DependencyUnavailableError("rate limit store did not answer")

    async def reset(self) -> None:
        self.local.reset()
        if self.redis is not None:
            await self.redis.reset()

    async def _run(
        self,
        operation: Callable[Concatenate[Store, P], Awaitable[T]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """`operation` on Redis while it answers, else in this process (or refused)."""
        if self.redis is not None:
            if self.breaker.allows():
                try:
                    result = await operation(self.redis, *args, **kwargs)
                except Exception as exc:
                    self.breaker.failed(exc)
                    self._outage(exc)
                else:
                    self.breaker.succeeded()
                    return result
            elif not self.fail_open:
                raise RateLimitUnavailableError(self.breaker.skipping())
        return await operation(self.local, *args, **kwargs)

    def _outage(self, exc: Exception) -> None:
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
