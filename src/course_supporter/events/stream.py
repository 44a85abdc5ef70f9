"""The SSE side: one broker per API process fans the tenant's new events out to its clients.

The database is the source of truth; wake-ups only say "look now". On PostgreSQL the broker
LISTENs for the NOTIFY each committing transaction sends (so an event written by a worker or
another API process reaches this one at once); commits in this process wake it directly; and
it polls every EVENTS_POLL_INTERVAL_SECONDS in case a wake-up was missed (a dropped LISTEN
connection, SQLite shared by several processes).

A client first catches up from its Last-Event-ID straight from the table, then joins the
broker. Each client has a bounded queue: one that does not keep up is dropped with a `retry`
hint, and resumes from the table when it reconnects, so a slow client costs no memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import structlog
from sqlalchemy.engine import make_url
from sse_starlette import ServerSentEvent

from course_supporter.config import Settings
from course_supporter.db import Database
from course_supporter.events.models import Event
from course_supporter.events.service import (
    NOTIFY_CHANNEL,
    events_after,
    latest_sequence,
    on_local_commit,
    remove_local_commit_callback,
    stream_data,
)

log = structlog.get_logger(__name__)

PAGE = 500
LISTEN_RECONNECT_SECONDS = 2.0


class Subscription:
    """One client's view of the broker: a bounded queue of events, or a note that it overflowed."""

    def __init__(self, tenant_id: uuid.UUID, capacity: int) -> None:
        self.tenant_id = tenant_id
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=capacity)
        self.overflowed = asyncio.Event()

    def offer(self, event: Event) -> None:
        if self.overflowed.is_set():
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            # Let go of what it holds: the client resumes from the table.
            while not self.queue.empty():
                self.queue.get_nowait()
            self.overflowed.set()

    async def next(self) -> Event | None:
        """The next event, or None once the client fell behind."""
        if self.overflowed.is_set():
            return None
        getter = asyncio.ensure_future(self.queue.get())
        dropped = asyncio.ensure_future(self.overflowed.wait())
        try:
            await asyncio.wait({getter, dropped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            dropped.cancel()
            if not getter.done():
                getter.cancel()
        if getter.done() and not getter.cancelled() and not self.overflowed.is_set():
            return getter.result()
        return None


class EventBroker:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._subscriptions: dict[uuid.UUID, set[Subscription]] = {}
        self._cursors: dict[uuid.UUID, int] = {}
        self._woken: set[uuid.UUID] = set()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()

    def wake(self, tenant_ids: set[uuid.UUID] | None = None) -> None:
        """Look for new events of these tenants (all tenants when None) now."""
        self._woken |= set(self._subscriptions) if tenant_ids is None else tenant_ids
        self._wake.set()

    async def subscribe(self, tenant_id: uuid.UUID) -> Subscription:
        """Join the fan-out: every event after the broker's cursor for the tenant is offered."""
        subscription = Subscription(tenant_id, self.settings.events_client_buffer)
        async with self._lock:
            if tenant_id not in self._cursors:
                self._cursors[tenant_id] = await latest_sequence(self.db, tenant_id)
            self._subscriptions.setdefault(tenant_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        tenant_id = subscription.tenant_id
        subscriptions = self._subscriptions.get(tenant_id)
        if subscriptions is None:
            return
        subscriptions.discard(subscription)
        if not subscriptions:
            del self._subscriptions[tenant_id]
            self._cursors.pop(tenant_id, None)

    async def run(self) -> None:
        """Fan out until cancelled (a background task of the API process)."""
        on_local_commit(self.wake)
        listener = None
        if self.db.dialect == "postgresql":
            listener = asyncio.create_task(self._listen_forever(), name="events listen")
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._wake.wait(), timeout=self.settings.events_poll_interval_seconds
                    )
                if not self._wake.is_set():
                    self._woken |= set(self._subscriptions)
                self._wake.clear()
                woken, self._woken = self._woken, set()
                try:
                    await self._fan_out(woken)
                except Exception:
                    log.exception("events_fan_out_failed")
                    self._woken |= woken
        finally:
            remove_local_commit_callback(self.wake)
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener

    async def _fan_out(self, tenant_ids: set[uuid.UUID]) -> None:
        async with self._lock:
            for tenant_id in tenant_ids:
                while tenant_id in self._cursors:
                    rows = await events_after(self.db, tenant_id, self._cursors[tenant_id], PAGE)
                    if not rows:
                        break
                    self._cursors[tenant_id] = rows[-1].sequence
                    for subscription in list(self._subscriptions.get(tenant_id, ())):
                        for row in rows:
                            subscription.offer(row)
                    if len(rows) < PAGE:
                        break

    async def _listen_forever(self) -> None:
        url = make_url(self.db.engine.url).set(drivername="postgresql")
        conninfo = url.render_as_string(hide_password=False)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    conninfo, autocommit=True
                ) as connection:
                    await connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.wake()  # whatever was committed while not listening
                    async for notify in connection.notifies():
                        self.wake(_tenant_ids(notify.payload))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("events_listen_lost", error=str(exc))
            await asyncio.sleep(LISTEN_RECONNECT_SECONDS)


def _tenant_ids(payload: str) -> set[uuid.UUID]:
    tenant_ids = set()
    for part in payload.split(","):
        with contextlib.suppress(ValueError):
            tenant_ids.add(uuid.UUID(part))
    return tenant_ids


def to_sse(event: Event) -> ServerSentEvent:
    return ServerSentEvent(
        data=json.dumps(stream_data(event), separators=(",", ":")),
        event=event.type,
        id=str(event.sequence),
    )


async def stream_events(
    broker: EventBroker, tenant_id: uuid.UUID, after: int | None
) -> AsyncIterator[ServerSentEvent | dict[str, Any]]:
    """The tenant's events after sequence `after` (None: from now), in order, for
    EVENTS_STREAM_MAX_SECONDS at most; a client that falls behind gets `retry` and the end."""
    settings = broker.settings
    db = broker.db
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.events_stream_max_seconds
    cursor = await latest_sequence(db, tenant_id) if after is None else after
    # Catch up from the table before joining, so a long backlog cannot overflow the queue.
    while True:
        rows = await events_after(db, tenant_id, cursor, PAGE)
        for row in rows:
            yield to_sse(row)
            cursor = row.sequence
        if len(rows) < PAGE:
            break
    subscription = await broker.subscribe(tenant_id)
    try:
        # Whatever committed between the catch-up and joining.
        while rows := await events_after(db, tenant_id, cursor, PAGE):
            for row in rows:
                yield to_sse(row)
                cursor = row.sequence
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                yield ServerSentEvent(
                    comment="stream lifetime reached", retry=settings.events_retry_ms
                )
                return
            try:
                event = await asyncio.wait_for(subscription.next(), timeout=remaining)
            except TimeoutError:
                continue
            if event is None:
                yield ServerSentEvent(
                    comment="fell behind: reconnect with Last-Event-ID",
                    retry=settings.events_retry_ms,
                )
                return
            if event.sequence > cursor:
                yield to_sse(event)
                cursor = event.sequence
    finally:
        broker.unsubscribe(subscription)
