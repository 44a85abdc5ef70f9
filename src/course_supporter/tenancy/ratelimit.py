"""Sliding-window rate limits per (tenant, scope), in process or shared through Redis."""

from __future__ import annotations

import inspect
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import structlog
from limits import parse
from limits.aio.storage import RedisStorage

from course_supporter.config import Settings

log = structlog.get_logger(__name__)

_REDIS_TIMEOUT_SECONDS = 0.5
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


class RateLimiter:
    """Sliding-window-counter limiter; Redis when `REDIS_URL` is set, shared by every process.

    The sliding window counter (this minute's count plus last minute's, weighted by how much
    of it still overlaps the window) costs O(1) per request in memory and in Redis, where a
    moving-window log costs O(limit).
    """

    def __init__(self, settings: Settings, *, key_prefix: str = "course_supporter") -> None:
        if settings.redis_url:
            self.storage: RedisStorage | LocalWindowStorage = RedisStorage(
                "async+" + settings.redis_url,
                implementation="redispy",
                key_prefix=key_prefix,
                socket_timeout=_REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=_REDIS_TIMEOUT_SECONDS,
            )
        else:
            self.storage = LocalWindowStorage()
        self.shared = settings.redis_url is not None
        self.fail_open = settings.rate_limit_fail_open
        self._auth_failures = parse(settings.auth_failure_limit)
        self._last_outage_log = 0.0

    # The storage's sliding-window operations are called directly: the strategy object around
    # them builds keys and result tuples on every call, a third of a request's auth cost.

    async def hit(self, tenant_id: uuid.UUID, scope: str, per_minute: int) -> RateDecision:
        """Count one request of the tenant in this scope against the calling key's limit."""
        key = f"tenant/{tenant_id}/{scope}"
        try:
            allowed = await _settled(
                self.storage.acquire_sliding_window_entry(key, per_minute, _WINDOW, 1)
            )
            window = await _settled(self.storage.get_sliding_window(key, _WINDOW))
        except Exception as exc:
            return self._outage(exc, per_minute)
        previous, previous_expires_in, current, current_expires_in = window
        used = previous * previous_expires_in / _WINDOW + current
        # Seconds until one request fits again: the next weight of last minute to drop out,
        # or this minute's window rolling over.
        waits = [previous_expires_in % (_WINDOW / previous)] if previous else []
        waits += [current_expires_in % _WINDOW] if current else []
        reset_after = math.ceil(min(waits)) if waits else 0
        return RateDecision(allowed, per_minute, max(0, per_minute - math.floor(used)), reset_after)

    async def auth_failures_exceeded(self, client: str) -> bool:
        """True once a client address has failed authentication too often in the window."""
        limit, window = self._auth_failures.amount, self._auth_failures.get_expiry()
        try:
            previous, previous_expires_in, current, _ = await _settled(
                self.storage.get_sliding_window(f"authfail/{client}", window)
            )
        except Exception as exc:
            self._outage(exc, 0)
            return False
        return previous * previous_expires_in / window + current >= limit

    async def record_auth_failure(self, client: str) -> None:
        limit, window = self._auth_failures.amount, self._auth_failures.get_expiry()
        try:
            await _settled(
                self.storage.acquire_sliding_window_entry(f"authfail/{client}", limit, window, 1)
            )
        except Exception as exc:
            self._outage(exc, 0)

    async def ping(self) -> None:
        if not await _settled(self.storage.check()):
            raise ConnectionError("rate limit store did not answer")

    async def reset(self) -> None:
        await _settled(self.storage.reset())

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
