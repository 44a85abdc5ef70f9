"""Rate limits: headers, 429 and Retry-After, auth-failure limits, Redis across processes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import limits.storage
import limits.storage.memory
import pytest

from course_supporter.config import Settings
from course_supporter.tenancy.ratelimit import LocalWindowStorage, RateLimiter
from tests.api_server import run_api_server
from tests.conftest import ApiClient, make_settings, open_client


async def test_limits_count_per_scope_and_answer_429(client: ApiClient) -> None:
    headers = {"X-API-Key": await client.new_key(rate_prep=3, rate_check=5)}
    remaining = []
    for _ in range(3):
        response = await client.http.post("/api/v1/courses", json={"title": "t"}, headers=headers)
        assert response.status_code == 201
        assert response.headers["RateLimit-Limit"] == "3"
        remaining.append(int(response.headers["RateLimit-Remaining"]))
    assert remaining == [2, 1, 0]
    blocked = await client.http.post("/api/v1/courses", json={"title": "t"}, headers=headers)
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    assert blocked.headers["RateLimit-Remaining"] == "0"
    # Reads count against `check`, which still has room.
    reads = await client.http.get("/api/v1/courses", headers=headers)
    assert reads.status_code == 200
    assert reads.headers["RateLimit-Limit"] == "5"


BAD_KEY = {"X-API-Key": "cs_live_" + "1" * 32}


async def test_bad_keys_are_throttled_per_address_and_good_keys_pass(settings: Settings) -> None:
    strict = settings.model_copy(update={"auth_failure_limit": "5/minute"})
    async with open_client(strict) as api:
        statuses = [
            (await api.http.get("/api/v1/me", headers=BAD_KEY)).status_code for _ in range(7)
        ]
        assert statuses == [401] * 5 + [429] * 2
        blocked = await api.http.get("/api/v1/me", headers=BAD_KEY)
        assert blocked.headers["Retry-After"] == "60"
        # A key never seen by this process, resolved from the database: it passes.
        good = await api.new_key()
        assert (await api.http.get("/api/v1/me", headers={"X-API-Key": good})).status_code == 200
        assert (await api.http.get("/api/v1/me", headers=BAD_KEY)).status_code == 429
        # Another address has its own count.
        app = api.http._transport.app  # type: ignore[attr-defined]
        other = httpx.ASGITransport(app=app, client=("10.9.8.7", 5000))
        async with httpx.AsyncClient(transport=other, base_url="http://testserver") as elsewhere:
            assert (await elsewhere.get("/api/v1/me", headers=BAD_KEY)).status_code == 401


async def test_a_valid_key_outlives_its_cache_entry_while_its_address_guesses(
    settings: Settings,
) -> None:
    strict = settings.model_copy(
        update={"auth_failure_limit": "3/minute", "api_key_cache_ttl_seconds": 0.3}
    )
    async with open_client(strict) as api:
        known = {"X-API-Key": await api.new_key()}
        assert (await api.http.get("/api/v1/me", headers=known)).status_code == 200
        for _ in range(3):
            assert (await api.http.get("/api/v1/me", headers=BAD_KEY)).status_code == 401
        await asyncio.sleep(0.4)  # the cache entry has expired: the key is looked up again
        for _ in range(3):
            assert (await api.http.get("/api/v1/me", headers=BAD_KEY)).status_code == 429
            assert (await api.http.get("/api/v1/me", headers=known)).status_code == 200


async def test_redis_outage_fails_open_without_500(sqlite_url: str, tmp_path: Path) -> None:
    dead = make_settings(sqlite_url, tmp_path, redis_url="redis://127.0.0.1:1/0")
    async with open_client(dead) as api:
        key = await api.new_key()
        response = await api.http.get("/api/v1/me", headers={"X-API-Key": key})
        assert response.status_code == 200
        health = await api.http.get("/health")
        assert health.status_code == 503
        assert health.json()["checks"]["redis"].startswith("error")


async def test_redis_outage_can_fail_closed(sqlite_url: str, tmp_path: Path) -> None:
    dead = make_settings(
        sqlite_url, tmp_path, redis_url="redis://127.0.0.1:1/0", rate_limit_fail_open=False
    )
    async with open_client(dead) as api:
        key = await api.new_key()
        response = await api.http.get("/api/v1/me", headers={"X-API-Key": key})
        assert response.status_code == 503
        assert response.json()["detail"].startswith("Rate limiting is unavailable")


class RedisRelay:
    """A loopback port in front of Redis that can black-hole: it accepts connections and never
    answers, like a Redis behind a dropped route; switched off, it relays to the real one."""

    def __init__(self, target: tuple[str, int] | None = None) -> None:
        self.target = target
        self.blackhole = True
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> RedisRelay:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self.blackhole or self.target is None:
                while await reader.read(65536):
                    pass
                return
            up_reader, up_writer = await asyncio.open_connection(*self.target)
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except ConnectionError:
            pass
        finally:
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


@contextlib.contextmanager
def _captured(caplog: pytest.LogCaptureFixture, logger: str) -> Iterator[None]:
    """caplog on `logger`: the app's logging set-up replaced the root handlers, caplog's too."""
    target = logging.getLogger(logger)
    target.addHandler(caplog.handler)
    try:
        yield
    finally:
        target.removeHandler(caplog.handler)


def _events(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.msg["event"] for r in caplog.records if isinstance(r.msg, dict)]


async def _timed_get(api: ApiClient, path: str, headers: dict[str, str]) -> tuple[int, float]:
    started = time.monotonic()
    response = await api.http.get(path, headers=headers)
    return response.status_code, time.monotonic() - started


@pytest.mark.redis
async def test_a_black_holed_redis_is_skipped_for_a_cool_down_then_used_again(
    redis_url: str, sqlite_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    real = urlsplit(redis_url)
    async with RedisRelay((real.hostname or "127.0.0.1", real.port or 6379)) as relay:
        settings = make_settings(
            sqlite_url,
            tmp_path,
            redis_url=f"redis://127.0.0.1:{relay.port}{real.path}",
            redis_timeout_seconds=0.5,
            redis_breaker_failures=3,
            redis_breaker_cooldown_seconds=1.5,
            auth_failure_limit="3/minute",
        )
        async with open_client(settings) as api:
            with _captured(caplog, "course_supporter.tenancy.ratelimit"):
                headers = {"X-API-Key": await api.new_key(rate_check=5)}
                timed = [await _timed_get(api, "/api/v1/courses", headers) for _ in range(7)]
                # Each of the first three waits out the timeout; then Redis is skipped, and
                # the limit is still counted, in this process.
                assert [status for status, _ in timed] == [200] * 5 + [429] * 2
                assert all(seconds >= 0.5 for _, seconds in timed[:3]), timed
                assert all(seconds < 0.25 for _, seconds in timed[3:]), timed
                assert "rate_limit_store_skipped" in _events(caplog)
                health = await api.http.get("/health")
                assert health.status_code == 503
                assert health.json()["checks"]["redis"].startswith(
                    "error: skipped after 3 failures in a row (TimeoutError"
                )
                # Guessing keys stays limited while Redis is skipped.
                guesses = [
                    (await api.http.get("/api/v1/me", headers=BAD_KEY)).status_code
                    for _ in range(4)
                ]
                assert guesses == [401, 401, 401, 429]

                relay.blackhole = False
                await asyncio.sleep(1.6)
                back = await api.http.get("/api/v1/courses", headers=headers)
                # Counted in Redis again, where this tenant has one request so far.
                assert back.status_code == 200
                assert back.headers["RateLimit-Remaining"] == "4"
                assert "rate_limit_store_recovered" in _events(caplog)
                assert (await api.http.get("/health")).json()["checks"]["redis"] == "ok"


async def test_a_black_holed_redis_failing_closed_answers_503_without_waiting(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with RedisRelay() as relay:
        settings = make_settings(
            sqlite_url,
            tmp_path,
            redis_url=f"redis://127.0.0.1:{relay.port}/0",
            redis_timeout_seconds=0.3,
            redis_breaker_failures=2,
            rate_limit_fail_open=False,
        )
        async with open_client(settings) as api:
            headers = {"X-API-Key": await api.new_key()}
            timed = [await _timed_get(api, "/api/v1/me", headers) for _ in range(4)]
            assert [status for status, _ in timed] == [503] * 4
            assert all(seconds >= 0.3 for _, seconds in timed[:2]), timed
            assert all(seconds < 0.2 for _, seconds in timed[2:]), timed


@pytest.mark.redis
async def test_redis_limit_holds_across_two_server_processes(
    redis_url: str, tmp_path: Path
) -> None:
    shared = {"DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}", "REDIS_URL": redis_url}
    with (
        run_api_server(tmp_path / "a", **shared) as first,
        run_api_server(tmp_path / "b", **shared) as second,
    ):
        key = first.new_key("--rate-check", "10")
        servers = [first, second]
        async with httpx.AsyncClient(headers={"X-API-Key": key}) as http:
            responses = await asyncio.gather(
                *(http.get(f"{servers[i % 2].base_url}/api/v1/courses") for i in range(30))
            )
    statuses = [response.status_code for response in responses]
    assert statuses.count(200) == 10, statuses
    assert statuses.count(429) == 20


@pytest.mark.redis
async def test_redis_limiter_counts_each_tenant_separately(redis_url: str) -> None:
    settings = Settings(redis_url=redis_url, _env_file=None)
    limiter = RateLimiter(settings, key_prefix=f"test-{uuid.uuid4().hex}")
    first, second = uuid.uuid4(), uuid.uuid4()
    decisions = [await limiter.hit(first, "prep", 2) for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, False]
    assert (await limiter.hit(second, "prep", 2)).allowed


async def test_in_process_window_counts_exactly_per_tenant_and_scope() -> None:
    limiter = RateLimiter(Settings(_env_file=None))
    tenant = uuid.uuid4()
    decisions = [await limiter.hit(tenant, "check", 5) for _ in range(7)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 2
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0, 0, 0]
    assert all(0 <= d.reset_after <= 60 for d in decisions)
    assert (await limiter.hit(tenant, "prep", 5)).allowed
    assert (await limiter.hit(uuid.uuid4(), "check", 5)).allowed


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


def test_local_windows_count_exactly_like_limits_memory_storage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Step by step the same answers as `limits`' own memory storage, windows rolling over."""
    clock = _Clock(1_000_017.3)
    monkeypatch.setattr(limits.storage.memory, "time", clock)
    reference = limits.storage.MemoryStorage()
    local = LocalWindowStorage(clock=clock.time)
    fused = LocalWindowStorage(clock=clock.time)  # the limiter's one-call path
    steps = random.Random(7)
    answers = []
    for _ in range(600):
        clock.now += steps.choice([0.0, 0.4, 3.0, 11.0, 29.5, 61.0, 125.0])
        key = steps.choice(["tenant/a/check", "tenant/b/prep"])
        ours = local.acquire_sliding_window_entry(key, 6, 60)
        theirs = reference.acquire_sliding_window_entry(key, 6, 60)
        assert ours == theirs
        window = reference.get_sliding_window(key, 60)
        assert local.get_sliding_window(key, 60) == window
        assert fused.acquire_and_read(key, 6, 60) == (theirs, window)
        answers.append(ours)
    # The sequence exercised both outcomes and windows of every age.
    assert True in answers and False in answers


def test_local_windows_forget_keys_idle_for_two_windows() -> None:
    clock = _Clock(5_000.0)
    local = LocalWindowStorage(clock=clock.time)
    for number in range(50):
        assert local.acquire_sliding_window_entry(f"authfail/10.0.0.{number}", 5, 60)
    assert len(local) == 50
    clock.now += 61
    local.acquire_sliding_window_entry("tenant/a/check", 5, 60)
    assert len(local) == 51  # last window's counts still weigh
    clock.now += 120
    assert local.acquire_sliding_window_entry("tenant/a/check", 5, 60)
    assert len(local) == 1
    assert local.get_sliding_window("authfail/10.0.0.1", 60)[::2] == (0, 0)


async def test_limits_failing_closed_say_when_to_retry(sqlite_url: str, tmp_path: Path) -> None:
    dead = make_settings(
        sqlite_url, tmp_path, redis_url="redis://127.0.0.1:1/0", rate_limit_fail_open=False
    )
    async with open_client(dead) as api:
        response = await api.http.get("/api/v1/me", headers={"X-API-Key": await api.new_key()})
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert response.json()["request_id"] == response.headers["x-request-id"]
