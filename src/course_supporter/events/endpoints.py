"""The event stream (SSE) and webhook endpoints: thin calls into the events service."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from sse_starlette import EventSourceResponse

from course_supporter.dependencies import SessionDep, SettingsDep
from course_supporter.errors import InvalidInputError
from course_supporter.events import service
from course_supporter.events.schemas import (
    DeliveryList,
    DeliveryOut,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookOut,
)
from course_supporter.events.stream import EventBroker, stream_events
from course_supporter.http_errors import body_responses, error_responses
from course_supporter.tenancy.auth import PrepTenant, ReadTenant


async def get_broker(request: Request) -> EventBroker:
    broker: EventBroker = request.app.state.event_broker
    return broker


BrokerDep = Annotated[EventBroker, Depends(get_broker)]

events_router = APIRouter(
    prefix="/api/v1/events", tags=["events"], responses=error_responses(401, 403, 422, 429, 503)
)
webhooks_router = APIRouter(
    prefix="/api/v1/webhooks", tags=["webhooks"], responses=error_responses(401, 403, 422, 429, 503)
)

STREAM_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events: `id` is the event's sequence, `event` its type, "
        "`data` JSON {id, type, subject_id, created_at, payload}",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


def _resume_point(header: str | None, query: str | None) -> int | None:
    raw = header if header is not None else query
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise InvalidInputError(
            "Last-Event-ID must be the id (a non-negative integer) of an event of this stream",
            loc=("header", "last-event-id"),
        )
    return int(raw)


@events_router.get("", response_class=EventSourceResponse, responses=STREAM_RESPONSE)
async def stream(
    tenant: ReadTenant,
    broker: BrokerDep,
    settings: SettingsDep,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    last_event_id: Annotated[str | None, Query(max_length=20)] = None,
) -> EventSourceResponse:
    """The tenant's events as they happen; `Last-Event-ID` (or `?last_event_id=`) resumes
    after that event, for as long as events are kept (at least an hour)."""
    after = _resume_point(last_event_id_header, last_event_id)
    if after is not None:
        latest = await service.latest_sequence(broker.db, tenant.tenant_id)
        if after > latest:
            raise InvalidInputError(
                f"Last-Event-ID {after} is ahead of this stream's latest event ({latest})",
                loc=("header", "last-event-id"),
            )
    return EventSourceResponse(
        stream_events(broker, tenant.tenant_id, after),
        ping=settings.events_keepalive_seconds,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@webhooks_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreated,
    responses=body_responses(409),
)
async def create_webhook(
    body: WebhookCreate, tenant: PrepTenant, session: SessionDep, settings: SettingsDep
) -> WebhookCreated:
    """Register an endpoint for these event types; the signing secret is in this answer only."""
    webhook = await service.create_webhook(
        session,
        settings,
        tenant.tenant_id,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
    )
    return WebhookCreated.model_validate(webhook)


@webhooks_router.get("", response_model=WebhookList)
async def list_webhooks(tenant: PrepTenant, session: SessionDep) -> WebhookList:
    """The tenant's webhook endpoints (without their secrets)."""
    webhooks = await service.list_webhooks(session, tenant.tenant_id)
    return WebhookList(items=[WebhookOut.model_validate(webhook) for webhook in webhooks])


@webhooks_router.get("/{webhook_id}", response_model=WebhookOut, responses=error_responses(404))
async def get_webhook(webhook_id: uuid.UUID, tenant: PrepTenant, session: SessionDep) -> WebhookOut:
    """One endpoint: whether it is active, and why it was disabled."""
    return WebhookOut.model_validate(
        await service.get_webhook(session, tenant.tenant_id, webhook_id)
    )


@webhooks_router.delete(
    "/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404)
)
async def delete_webhook(
    webhook_id: uuid.UUID, tenant: PrepTenant, session: SessionDep
) -> Response:
    """Remove the endpoint and its delivery log; pending deliveries are not sent."""
    await service.delete_webhook(session, tenant.tenant_id, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@webhooks_router.get(
    "/{webhook_id}/deliveries", response_model=DeliveryList, responses=error_responses(404)
)
async def list_deliveries(
    webhook_id: uuid.UUID,
    tenant: PrepTenant,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryList:
    """The endpoint's delivery log, newest first: each event and every attempt at sending it."""
    deliveries = await service.list_deliveries(session, tenant.tenant_id, webhook_id, limit)
    return DeliveryList(items=[DeliveryOut.model_validate(d) for d in deliveries])
