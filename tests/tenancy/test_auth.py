"""API keys: format, storage, 401 without hints, cache TTL, scopes, /me."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from course_supporter.config import Settings
from course_supporter.db import utcnow
from course_supporter.errors import ConflictError
from course_supporter.tenancy import service
from course_supporter.tenancy.models import ApiKey
from tests.conftest import ApiClient, open_client

UNAUTHORIZED = {"detail": "Invalid or missing API key"}


async def test_key_is_shown_once_and_only_its_hash_is_stored(client: ApiClient) -> None:
    raw = await client.new_key()
    assert re.fullmatch(r"cs_live_[0-9a-f]{32}", raw)
    async with client.db.transaction() as session:
        stored = await session.scalar(
            select(ApiKey).where(ApiKey.key_hash == hashlib.sha256(raw.encode()).hexdigest())
        )
    assert stored is not None
    assert stored.key_prefix == raw[:16]
    assert raw not in {stored.key_hash, stored.key_prefix, stored.label}


async def test_me_describes_the_calling_key(client: ApiClient) -> None:
    raw = await client.new_key("check", rate_check=77, rate_prep=11)
    response = await client.http.get("/api/v1/me", headers={"X-API-Key": raw})
    assert response.status_code == 200
    body = response.json()
    assert body["scopes"] == ["check"]
    assert body["key_prefix"] == raw[:16]
    assert body["rate_limits"] == {"prep": 11, "check": 77}
    assert body["expires_at"] is None
    assert body["tenant_name"].startswith("tenant-")
    assert body["limits"] == {"max_upload_bytes": client.settings.max_upload_bytes}


async def test_every_rejected_key_gets_the_same_401(client: ApiClient) -> None:
    revoked = await client.new_key()
    async with client.db.transaction() as session:
        await service.revoke_key(session, revoked[:16])
    inactive = await client.new_key()
    async with client.db.transaction() as session:
        key = await session.scalar(select(ApiKey).where(ApiKey.key_prefix == inactive[:16]))
        assert key is not None
        key.expires_at = utcnow() - timedelta(seconds=1)
        await session.commit()
    candidates = [
        {},
        {"X-API-Key": ""},
        {"X-API-Key": "cs_live_" + "0" * 32},
        {"X-API-Key": "not-a-key"},
        {"X-API-Key": "cs_live_" + "A" * 32},
        {"X-API-Key": "x" * 100_000},
        {"X-API-Key": revoked},
        {"X-API-Key": inactive},
    ]
    for headers in candidates:
        response = await client.http.get("/api/v1/me", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["detail"] == UNAUTHORIZED["detail"]
        assert response.json()["request_id"] == response.headers["x-request-id"]


async def test_odd_bytes_in_key_header_are_401(client: ApiClient) -> None:
    raw_headers = [(b"X-API-Key", "cs_live_é\x01\x7f".encode("latin-1"))]
    response = await client.http.get("/api/v1/me", headers=raw_headers)
    assert response.status_code == 401


async def test_inactive_tenant_is_401(client: ApiClient) -> None:
    tenant = "tenant-to-deactivate-" + str(id(client))
    async with client.db.transaction() as session:
        await service.create_tenant(session, tenant)
    raw = await client.new_key(tenant=tenant)
    assert (await client.http.get("/api/v1/me", headers={"X-API-Key": raw})).status_code == 200
    async with client.db.transaction() as session:
        await service.set_tenant_active(session, tenant, active=False)
    assert (await client.http.get("/api/v1/me", headers={"X-API-Key": raw})).status_code == 401


async def test_revocation_takes_effect_within_the_cache_ttl(
    settings: Settings, tmp_path: Path
) -> None:
    # Revalidation (every second by default) would end the window early: this is the TTL bound.
    cached = settings.model_copy(
        update={"api_key_cache_ttl_seconds": 0.5, "api_key_revalidate_seconds": 30}
    )
    async with open_client(cached) as api:
        raw = await api.new_key()
        headers = {"X-API-Key": raw}
        assert (await api.http.get("/api/v1/me", headers=headers)).status_code == 200
        async with api.db.transaction() as session:
            await service.revoke_key(session, raw[:16])
        # Still cached: the documented window in which a revoked key keeps working.
        assert (await api.http.get("/api/v1/me", headers=headers)).status_code == 200
        await asyncio.sleep(0.6)
        assert (await api.http.get("/api/v1/me", headers=headers)).status_code == 401


async def test_last_used_is_written_in_batches_not_per_request(client: ApiClient) -> None:
    raw = await client.new_key()
    for _ in range(3):
        await client.http.get("/api/v1/me", headers={"X-API-Key": raw})

    async def last_used() -> object:
        async with client.db.transaction() as session:
            return await session.scalar(
                select(ApiKey.last_used_at).where(ApiKey.key_prefix == raw[:16])
            )

    assert await last_used() is None
    authenticator = client.http._transport.app.state.authenticator  # type: ignore[attr-defined]
    await authenticator.flush_last_used()
    assert await last_used() is not None


async def test_missing_scope_is_403(client: ApiClient) -> None:
    raw = await client.new_key("check")
    response = await client.http.post(
        "/api/v1/courses", json={"title": "x"}, headers={"X-API-Key": raw}
    )
    assert response.status_code == 403
    assert "prep" in response.json()["detail"]
    readable = await client.http.get("/api/v1/courses", headers={"X-API-Key": raw})
    assert readable.status_code == 200


async def test_rotation_keeps_the_old_key_for_the_grace_period(client: ApiClient) -> None:
    old = await client.new_key()
    async with client.db.transaction() as session:
        issued = await service.rotate_key(session, old[:16], grace=timedelta(hours=1))
    for raw in (old, issued.raw_key):
        response = await client.http.get("/api/v1/me", headers={"X-API-Key": raw})
        assert response.status_code == 200
    me_old = (await client.http.get("/api/v1/me", headers={"X-API-Key": old})).json()
    assert me_old["expires_at"] is not None
    async with client.db.transaction() as session:
        await service.rotate_key(session, issued.raw_key[:16], grace=timedelta(seconds=1))
    await asyncio.sleep(1.1)
    assert (
        await client.http.get("/api/v1/me", headers={"X-API-Key": issued.raw_key})
    ).status_code == 401


async def test_a_cached_key_stops_when_its_rotation_grace_ends(
    settings: Settings, tmp_path: Path
) -> None:
    cached = settings.model_copy(update={"api_key_cache_ttl_seconds": 10})
    async with open_client(cached) as api:
        old = {"X-API-Key": await api.new_key()}
        assert (await api.http.get("/api/v1/me", headers=old)).status_code == 200  # now cached
        async with api.db.transaction() as session:
            await service.rotate_key(session, old["X-API-Key"][:16], grace=timedelta(seconds=2))
        rotated = time.monotonic()
        await asyncio.sleep(1.5)
        # The cache has learnt the new expiry and still honours the grace...
        me = await api.http.get("/api/v1/me", headers=old)
        assert me.status_code == 200
        assert me.json()["expires_at"] is not None
        # ...and ends it on time, although the entry's TTL runs for 8 s more.
        while (await api.http.get("/api/v1/me", headers=old)).status_code == 200:
            assert time.monotonic() - rotated < 2.5
            await asyncio.sleep(0.05)
        assert time.monotonic() - rotated >= 1.9


async def test_rotating_an_expired_key_is_refused(client: ApiClient) -> None:
    tenant = f"tenant-expired-{id(client)}"
    async with client.db.transaction() as session:
        await service.create_tenant(session, tenant)
    raw = await client.new_key(tenant=tenant)
    async with client.db.transaction() as session:
        key = await session.scalar(select(ApiKey).where(ApiKey.key_prefix == raw[:16]))
        assert key is not None
        key.expires_at = utcnow() - timedelta(seconds=1)
        await session.commit()
    async with client.db.transaction() as session:
        with pytest.raises(ConflictError, match=r"expired at .*; issue a new key instead"):
            await service.rotate_key(session, raw[:16], grace=timedelta(hours=1))
    async with client.db.transaction() as session:
        assert len(await service.list_keys(session, tenant)) == 1


async def test_a_full_key_cache_drops_its_least_recently_used_key_only(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from course_supporter.tenancy import auth

    monkeypatch.setattr(auth, "_CACHE_MAX_ENTRIES", 2)
    cached = settings.model_copy(update={"api_key_cache_ttl_seconds": 30})
    async with open_client(cached) as api:
        first, second, third = [{"X-API-Key": await api.new_key()} for _ in range(3)]
        for headers in (first, second, first, third):
            assert (await api.http.get("/api/v1/me", headers=headers)).status_code == 200
        authenticator = api.http._transport.app.state.authenticator  # type: ignore[attr-defined]
        assert authenticator.cached(first["X-API-Key"]) is not None
        assert authenticator.cached(third["X-API-Key"]) is not None
        assert authenticator.cached(second["X-API-Key"]) is None


async def test_a_rotation_failing_after_the_new_key_leaves_nothing_behind(
    client: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = await client.new_key()
    issue_key = service.issue_key

    async def issue_then_fail(*args, **kwargs):  # type: ignore[no-untyped-def]
        await issue_key(*args, **kwargs)
        raise RuntimeError("the step after issuing the new key fails")

    monkeypatch.setattr(service, "issue_key", issue_then_fail)
    with pytest.raises(RuntimeError):
        async with client.db.transaction() as session:
            await service.rotate_key(session, old[:16], grace=timedelta(hours=1))
    async with client.db.transaction() as session:
        tenant_keys = (
            await session.scalars(
                select(ApiKey).where(
                    ApiKey.tenant_id
                    == select(ApiKey.tenant_id)
                    .where(ApiKey.key_prefix == old[:16])
                    .scalar_subquery()
                )
            )
        ).all()
    assert [key.key_prefix for key in tenant_keys] == [old[:16]]
    assert tenant_keys[0].expires_at is None


async def test_a_refused_key_names_the_scheme_and_a_missing_scope_names_the_scope(
    client: ApiClient,
) -> None:
    refused = await client.http.get("/api/v1/me", headers={"X-API-Key": "cs_live_" + "0" * 32})
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == "ApiKey"
    assert refused.json() == {**UNAUTHORIZED, "request_id": refused.headers["x-request-id"]}
    check_only = {"X-API-Key": await client.new_key("check")}
    forbidden = await client.http.post("/api/v1/courses", json={"title": "x"}, headers=check_only)
    assert forbidden.status_code == 403
    assert forbidden.json()["detail"] == "This API key needs scope 'prep'"
    assert "WWW-Authenticate" not in forbidden.headers
