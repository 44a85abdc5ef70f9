"""Rate limits: headers, 429 and Retry-After, auth-failure limits, Redis across processes."""

from __future__ import annotations

import asyncio
import random
import uuid
from pathlib import Path

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


async def test_repeated_bad_keys_are_throttled_per_address(settings: Settings) -> None:
    strict = settings.model_copy(update={"auth_failure_limit": "5/minute"})
    async for api in open_client(strict):
        for _ in range(5):
            response = await api.http.get(
                "/api/v1/me", headers={"X-API-Key": "cs_live_" + "1" * 32}
            )
            assert response.status_code == 401
        good = await api.new_key()
        blocked = await api.http.get("/api/v1/me", headers={"X-API-Key": good})
        assert blocked.status_code == 429
        assert "Retry-After" in blocked.headers


async def test_a_key_validated_before_the_guessing_keeps_working(settings: Settings) -> None:
    strict = settings.model_copy(
        update={"auth_failure_limit": "3/minute", "api_key_cache_ttl_seconds": 5}
    )
    async for api in open_client(strict):
        known = await api.new_key()
        assert (await api.http.get("/api/v1/me", headers={"X-API-Key": known})).status_code == 200
        for _ in range(3):
            bad = {"X-API-Key": "cs_live_" + "2" * 32}
            assert (await api.http.get("/api/v1/me", headers=bad)).status_code == 401
        assert (await api.http.get("/api/v1/me", headers={"X-API-Key": known})).status_code == 200
        fresh = await api.new_key()
        assert (await api.http.get("/api/v1/me", headers={"X-API-Key": fresh})).status_code == 429


async def test_redis_outage_fails_open_without_500(sqlite_url: str, tmp_path: Path) -> None:
    dead = make_settings(sqlite_url, tmp_path, redis_url="redis://127.0.0.1:1/0")
    async for api in open_client(dead):
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
    async for api in open_client(dead):
        key = await api.new_key()
        response = await api.http.get("/api/v1/me", headers={"X-API-Key": key})
        assert response.status_code == 503
        assert response.json()["detail"].startswith("Rate limiting is unavailable")


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
    settings = Settings(redis_url=redis_url, _env_file=None)  # type: ignore[call-arg]
    limiter = RateLimiter(settings, key_prefix=f"test-{uuid.uuid4().hex}")
    first, second = uuid.uuid4(), uuid.uuid4()
    decisions = [await limiter.hit(first, "prep", 2) for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, False]
    assert (await limiter.hit(second, "prep", 2)).allowed


async def test_in_process_window_counts_exactly_per_tenant_and_scope() -> None:
    limiter = RateLimiter(Settings(_env_file=None))  # type: ignore[call-arg]
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
    steps = random.Random(7)
    answers = []
    for _ in range(600):
        clock.now += steps.choice([0.0, 0.4, 3.0, 11.0, 29.5, 61.0, 125.0])
        key = steps.choice(["tenant/a/check", "tenant/b/prep"])
        ours = local.acquire_sliding_window_entry(key, 6, 60)
        theirs = reference.acquire_sliding_window_entry(key, 6, 60)
        assert ours == theirs
        assert local.get_sliding_window(key, 60) == reference.get_sliding_window(key, 60)
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
