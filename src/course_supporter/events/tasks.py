"""Events' work in the job workers: webhook deliveries, and pruning the log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog

from course_supporter.config import Settings
from course_supporter.db import Database, utcnow
from course_supporter.events.models import DeliveryStatus
from course_supporter.events.service import (
    WEBHOOK_JOB,
    delivery_to_send,
    disable_webhook,
    prune_events,
    record_attempt,
)
from course_supporter.events.webhooks import send_delivery
from course_supporter.jobs.registry import (
    JobContext,
    JobNotReady,
    register_job_kind,
    register_periodic_task,
)
from course_supporter.storage import ObjectStorage

log = structlog.get_logger(__name__)


def next_attempt_delay(settings: Settings, attempts_made: int) -> float:
    """Exponential backoff after `attempts_made` failed attempts (1-based), capped."""
    return min(
        settings.webhook_retry_base_seconds * 2.0 ** min(attempts_made - 1, 30),
        settings.webhook_retry_max_seconds,
    )


@register_job_kind(WEBHOOK_JOB)
async def deliver_webhook(ctx: JobContext) -> dict[str, Any]:
    """One attempt; a failure is logged on the delivery and the next attempt scheduled (the
    queue holds it, no worker sleeps) until WEBHOOK_RETRY_WINDOW_SECONDS have passed, then
    the delivery fails and its endpoint is disabled."""
    settings = ctx.settings
    async with ctx.db.sessions() as session:
        found = await delivery_to_send(session, ctx.subject_id)
    if found is None:
        return {"delivered": False, "reason": "finished or deleted"}
    delivery, webhook = found
    if not webhook.is_active:
        async with ctx.db.transaction() as session:
            found = await delivery_to_send(session, ctx.subject_id)
            if found is not None:
                entry = {
                    "at": utcnow().isoformat(),
                    "status_code": None,
                    "error": "The endpoint is disabled",
                    "duration_ms": 0,
                }
                await record_attempt(session, found[0], entry, status=DeliveryStatus.FAILED)
        return {"delivered": False, "reason": "endpoint disabled"}
    outcome = await send_delivery(webhook, delivery, settings)
    attempts_made = len(delivery.attempts) + 1
    delay = next_attempt_delay(settings, attempts_made)
    window_ends = delivery.created_at + timedelta(seconds=settings.webhook_retry_window_seconds)
    gives_up = not outcome.succeeded and utcnow() + timedelta(seconds=delay) > window_ends
    # No transaction is open while the request is out: the attempt is written in one of its own.
    if outcome.succeeded:
        status = DeliveryStatus.SUCCEEDED
    else:
        status = DeliveryStatus.FAILED if gives_up else DeliveryStatus.PENDING
    async with ctx.db.transaction() as session:
        found = await delivery_to_send(session, ctx.subject_id)
        if found is None:
            return {"delivered": False, "reason": "deleted while sending"}
        delivery, webhook = found
        await record_attempt(session, delivery, outcome.log_entry(), status=status)
        if gives_up:
            reason = (
                f"Deliveries failed for {settings.webhook_retry_window_seconds:g} s "
                f"({attempts_made} attempts); last: {outcome.error}"
            )
            await disable_webhook(session, webhook, reason)
    if outcome.succeeded:
        return {"delivered": True, "attempts": attempts_made, "status_code": outcome.status_code}
    if gives_up:
        log.warning("webhook_disabled", webhook_id=str(webhook.id), error=outcome.error)
        return {"delivered": False, "attempts": attempts_made, "error": outcome.error}
    # Not an error of the job: the delivery waits for its next attempt, attempt-free.
    raise JobNotReady(f"Attempt {attempts_made} failed: {outcome.error}", delay=delay)


async def _prune(db: Database, _storage: ObjectStorage, settings: Settings) -> None:
    await prune_events(db, settings)


register_periodic_task("prune_events", interval=lambda s: s.events_prune_interval_seconds)(_prune)
