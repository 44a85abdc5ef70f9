"""API shapes of webhook endpoints and their deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

EventType = Literal[
    "job.queued",
    "job.running",
    "job.succeeded",
    "job.failed",
    "material.done",
    "material.error",
    "structure.version_created",
    "submission.graded",
    "webhook.disabled",
]
WebhookUrl = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)]


class WebhookCreate(BaseModel):
    url: WebhookUrl = Field(description="An http(s) URL on a public address")
    event_types: list[EventType] = Field(min_length=1, max_length=20)
    description: Annotated[str, StringConstraints(max_length=500)] | None = None


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    is_active: bool
    disabled_reason: str | None
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Standard Webhooks signing secret (`whsec_…`), shown once")


class WebhookList(BaseModel):
    items: list[WebhookOut]


class DeliveryAttempt(BaseModel):
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    event_type: str
    event_sequence: int
    status: str
    attempts: list[DeliveryAttempt]
    message: dict[str, Any]
    created_at: datetime
    finished_at: datetime | None


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
