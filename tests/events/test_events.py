"""The event log, job progress and the SSE stream, in process, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from course_supporter.db import utcnow
from course_supporter.events.models import Event
from course_supporter.events.service import (
    EVENT_TYPES,
    MATERIAL_DONE,
    prune_events,
    record_event,
)
from course_supporter.events.stream import EventBroker, Subscription, stream_events
from course_supporter.tenancy.service import create_tenant
from tests.conftest import ApiClient
from tests.events.conftest import FAST_EVENTS, parse_stream
from tests.ingestion.conftest import TOPICS, topic_pages_pdf
from tests.jobs.conftest import embedded_client, new_course, upload, wait_for_job

NOTES = b"# Git\n\n## Commits\n\nA commit records a snapshot.\n\n## Branches\n\nA branch moves.\n"


async def tenant_events(api: ApiClient, tenant_id: uuid.UUID) -> list[Event]:
    async with api.db.sessions() as session:
        rows = await session.scalars(
            select(Event).where(Event.tenant_id == tenant_id).order_by(Event.sequence)
        )
        return list(rows)


async def tenant_of(api: ApiClient, headers: dict[str, str]) -> uuid.UUID:
    me = await api.http.get("/api/v1/me", headers=headers)
    return uuid.UUID(me.json()["tenant_id"])


async def test_an_ingestion_job_records_its_life_in_order_with_progress(
    events_client: ApiClient,
) -> None:
    api = events_client
    headers, course_id = await new_course(api)
    created = await upload(api, headers, course_id, "notes.md", NOTES)
    job = await wait_for_job(api, headers, created["job_id"], timeout=180)
    assert job["status"] == "succeeded"
    assert job["progress"]["phase"] == "extracted"
    assert job["progress"]["done"] == job["progress"]["total"] > 0

    events = await tenant_events(api, await tenant_of(api, headers))
    assert [e.sequence for e in events] == list(range(1, len(events) + 1)), "gap-free, in order"
    types = [e.type for e in events]
    assert types[0] == "job.queued"
    assert types[-2:] == ["material.done", "job.succeeded"]
    running = [e for e in events if e.type == "job.running"]
    assert running[0].payload["attempt"] == 1
    assert any(e.payload.get("progress", {}).get("phase") == "extracted" for e in running)
    done = events[-2]
    assert done.subject_id == uuid.UUID(created["id"])
    assert done.payload["course_id"] == course_id


async def test_an_ingestion_job_reports_the_pages_of_a_pdf_while_it_reads_them(
    events_client: ApiClient,
) -> None:
    api = events_client
    headers, course_id = await new_course(api)
    created = await upload(api, headers, course_id, "book.pdf", topic_pages_pdf())
    job = await wait_for_job(api, headers, created["job_id"], timeout=180)
    assert job["status"] == "succeeded", job

    events = await tenant_events(api, await tenant_of(api, headers))
    progress = [
        e.payload["progress"]
        for e in events
        if e.type == "job.running" and e.payload.get("job_id") == created["job_id"]
        and "progress" in e.payload
    ]  # fmt: skip
    # How many pages were read by the time each write happened depends on the machine's load
    # (tests/ingestion/test_progress.py sees every page); in order, before `extracted`, always.
    pages = [p for p in progress if p["phase"] == "reading pages"]
    assert pages, progress
    assert all(p["total"] == len(TOPICS) for p in pages)
    assert [p["done"] for p in pages] == sorted(p["done"] for p in pages)
    assert progress[-1] == {"done": job["result"]["chunks"], "total": job["result"]["chunks"],
                            "phase": "extracted"}  # fmt: skip
    assert len({(p["done"], p["phase"]) for p in progress}) > 1


async def test_page_progress_is_written_at_most_once_per_interval(
    database_url: str, tmp_path: Path
) -> None:
    settings = {**FAST_EVENTS, "job_progress_interval_seconds": 60}
    async with embedded_client(database_url, tmp_path, **settings) as api:
        headers, course_id = await new_course(api)
        created = await upload(api, headers, course_id, "book.pdf", topic_pages_pdf())
        job = await wait_for_job(api, headers, created["job_id"], timeout=180)
        assert job["status"] == "succeeded", job
        events = await tenant_events(api, await tenant_of(api, headers))
    phases = [
        e.payload["progress"]["phase"]
        for e in events
        if e.type == "job.running" and "progress" in e.payload
    ]
    # The first page is written at once; the rest fall inside the interval; the end is forced.
    assert phases == ["reading pages", "extracted"]


async def test_a_rolled_back_transaction_leaves_no_event_and_spends_no_sequence(
    events_client: ApiClient,
) -> None:
    api = events_client
    async with api.db.transaction() as session:
        tenant = await create_tenant(session, f"t-{uuid.uuid4().hex[:8]}")
    async with api.db.sessions() as session:
        record_event(session, tenant.id, MATERIAL_DONE, None, {"n": 1})
        await session.rollback()
    async with api.db.sessions() as session:
        record_event(session, tenant.id, MATERIAL_DONE, None, {"n": 2})
        record_event(session, tenant.id, MATERIAL_DONE, None, {"n": 3})
        await session.commit()
    events = await tenant_events(api, tenant.id)
    assert [(e.sequence, e.payload["n"]) for e in events] == [(1, 2), (2, 3)]


async def test_concurrent_writers_get_distinct_gap_free_sequences(
    events_client: ApiClient,
) -> None:
    api = events_client
    async with api.db.transaction() as session:
        tenant = await create_tenant(session, f"t-{uuid.uuid4().hex[:8]}")

    async def write(n: int) -> None:
        async with api.db.sessions() as session:
            record_event(session, tenant.id, MATERIAL_DONE, None, {"n": n})
            await session.commit()

    await asyncio.gather(*(write(n) for n in range(20)))
    events = await tenant_events(api, tenant.id)
    assert [e.sequence for e in events] == list(range(1, 21))
    assert sorted(e.payload["n"] for e in events) == list(range(20))


async def test_unknown_event_types_are_refused(events_client: ApiClient) -> None:
    async with events_client.db.sessions() as session:
        try:
            record_event(session, uuid.uuid4(), "job.exploded", None, {})
        except ValueError as exc:
            assert "job.exploded" in str(exc)
        else:
            raise AssertionError("an unknown type was accepted")
    assert "structure.version_created" in EVENT_TYPES


async def test_old_events_are_pruned(events_client: ApiClient) -> None:
    api = events_client
    async with api.db.transaction() as session:
        tenant = await create_tenant(session, f"t-{uuid.uuid4().hex[:8]}")
        record_event(session, tenant.id, MATERIAL_DONE, None, {"n": 1})
        record_event(session, tenant.id, MATERIAL_DONE, None, {"n": 2})
        await session.commit()
    old = utcnow() - timedelta(seconds=api.settings.events_retention_seconds + 60)
    async with api.db.sessions() as session:
        await session.execute(
            update(Event)
            .where(Event.tenant_id == tenant.id, Event.sequence == 1)
            .values(created_at=old)
        )
        await session.commit()
    await prune_events(api.db, api.settings)
    assert [e.sequence for e in await tenant_events(api, tenant.id)] == [2]


async def test_the_stream_resumes_after_last_event_id_and_keeps_alive(
    events_client: ApiClient,
) -> None:
    api = events_client
    headers, course_id = await new_course(api)
    created = await upload(api, headers, course_id, "notes.md", NOTES)
    await wait_for_job(api, headers, created["job_id"], timeout=180)
    stored = await tenant_events(api, await tenant_of(api, headers))

    everything = parse_stream(
        (await api.http.get("/api/v1/events", headers={**headers, "Last-Event-ID": "0"})).text
    )
    assert [e.id for e in everything.events] == [e.sequence for e in stored]
    assert [e.type for e in everything.events] == [e.type for e in stored]
    assert everything.events[-1].data["payload"]["status"] == "succeeded"
    assert "ping" in " ".join(everything.comments), "keep-alive comments while idle"
    assert everything.retry == api.settings.events_retry_ms, "lifetime end says when to return"

    resumed = await api.http.get("/api/v1/events", params={"last_event_id": "2"}, headers=headers)
    assert resumed.headers["content-type"].startswith("text/event-stream")
    assert [e.id for e in parse_stream(resumed.text).events] == [
        e.sequence for e in stored if e.sequence > 2
    ]
    fresh = parse_stream((await api.http.get("/api/v1/events", headers=headers)).text)
    assert fresh.events == [], "without Last-Event-ID the stream starts from now"


async def test_the_stream_delivers_events_committed_while_connected(
    events_client: ApiClient,
) -> None:
    api = events_client
    headers, course_id = await new_course(api)

    async def later() -> dict[str, str]:
        await asyncio.sleep(0.2)
        return await upload(api, headers, course_id, "notes.md", NOTES)

    response, created = await asyncio.gather(
        api.http.get("/api/v1/events", headers=headers), later()
    )
    streamed = parse_stream(response.text).events
    assert streamed and streamed[0].type == "job.queued"
    assert streamed[0].data["subject_id"] == created["job_id"]


async def test_another_tenants_events_never_appear(events_client: ApiClient) -> None:
    api = events_client
    headers, course_id = await new_course(api)
    other = {"X-API-Key": await api.new_key()}
    created = await upload(api, headers, course_id, "notes.md", NOTES)
    await wait_for_job(api, headers, created["job_id"], timeout=180)
    theirs = parse_stream(
        (await api.http.get("/api/v1/events", headers={**other, "Last-Event-ID": "0"})).text
    )
    assert theirs.events == []
    mine = parse_stream(
        (await api.http.get("/api/v1/events", headers={**headers, "Last-Event-ID": "0"})).text
    )
    assert len(mine.events) >= 4


async def test_bad_last_event_ids_are_422(events_client: ApiClient) -> None:
    api = events_client
    headers = {"X-API-Key": await api.new_key()}
    for value in ("abc", "-1", "1.5", "9" * 30):
        response = await api.http.get("/api/v1/events", headers={**headers, "Last-Event-ID": value})
        assert response.status_code == 422, (value, response.text)
        assert "Last-Event-ID" in response.text
    ahead = await api.http.get("/api/v1/events", params={"last_event_id": "5"}, headers=headers)
    assert ahead.status_code == 422
    assert "ahead" in ahead.text
    assert (await api.http.get("/api/v1/events")).status_code == 401


async def test_a_client_that_falls_behind_is_dropped_with_a_retry_hint(
    events_client: ApiClient,
) -> None:
    api = events_client
    async with api.db.transaction() as session:
        tenant = await create_tenant(session, f"t-{uuid.uuid4().hex[:8]}")
    settings = api.settings.model_copy(update={"events_client_buffer": 3})
    app_broker = EventBroker(api.db, settings)
    runner = asyncio.create_task(app_broker.run())
    try:
        stream = stream_events(app_broker, tenant.id, None)
        # The generator joins the broker on its first step; nothing is read after that.
        first = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0.3)
        async with api.db.sessions() as session:
            for n in range(10):
                record_event(session, tenant.id, MATERIAL_DONE, None, {"n": n})
            await session.commit()
        message = await asyncio.wait_for(first, timeout=10)
        assert message.retry == settings.events_retry_ms  # type: ignore[union-attr]
        assert "fell behind" in (message.comment or "")  # type: ignore[union-attr]
        try:
            await stream.__anext__()
        except StopAsyncIteration:
            pass
        else:
            raise AssertionError("the stream went on after the retry hint")
        assert [s for subs in app_broker._subscriptions.values() for s in subs] == []
    finally:
        runner.cancel()


def test_a_full_subscription_lets_go_of_what_it_held() -> None:
    subscription = Subscription(uuid.uuid4(), capacity=2)
    for sequence in range(3):
        subscription.offer(Event(sequence=sequence))
    assert subscription.overflowed.is_set()
    assert subscription.queue.empty()
