"""Sending one webhook delivery: the outbound-address guard, Standard Webhooks signing, one POST."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook as StandardWebhook

from course_supporter.config import Settings
from course_supporter.errors import InvalidInputError
from course_supporter.events.models import Webhook, WebhookDelivery
from course_supporter.ingestion.errors import IngestionError
from course_supporter.ingestion.fetching import (
    NOT_PUBLIC_MESSAGE,
    FetchTarget,
    is_public_address,
    lookup_addresses,
    pinned_request,
)

USER_AGENT = "CourseSupporter-Webhooks/1.0"
# What the delivery log keeps of a receiver's answer.
MAX_LOGGED_BODY = 500


class WebhookUrlRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def resolve_webhook_target(url: str, settings: Settings) -> FetchTarget:
    """The URL material guard, applied to a webhook URL (blocking DNS): public addresses only,
    loopback too when WEBHOOK_ALLOW_LOOPBACK is set (tests)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise WebhookUrlRefused(f"{url} is not a valid URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise WebhookUrlRefused(f"{url} is not an http(s) URL")
    if parsed.userinfo:
        raise WebhookUrlRefused("The URL contains a user name or password; remove it")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        addresses = lookup_addresses(parsed.host, port)
    except IngestionError as exc:
        raise WebhookUrlRefused(exc.message) from None
    if not addresses:
        raise WebhookUrlRefused(f"The host {parsed.host} has no address; check the URL")
    for address in addresses:
        loopback_allowed = settings.webhook_allow_loopback and address.is_loopback
        if not (is_public_address(address) or loopback_allowed):
            raise WebhookUrlRefused(NOT_PUBLIC_MESSAGE.replace("fetched", "called"))
    return FetchTarget(url=parsed, address=str(addresses[0]))


async def check_webhook_url(url: str, settings: Settings) -> FetchTarget:
    """`resolve_webhook_target` off the event loop; a refusal is a 422 on `url`."""
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(resolve_webhook_target, url, settings),
            timeout=settings.fetch_timeout_seconds,
        )
    except WebhookUrlRefused as exc:
        raise InvalidInputError(exc.message, loc=("body", "url")) from None
    except TimeoutError:
        raise InvalidInputError(
            f"Looking up the host of {url} timed out", loc=("body", "url")
        ) from None


@dataclass(frozen=True)
class AttemptOutcome:
    succeeded: bool
    status_code: int | None
    error: str | None
    duration_ms: int

    def log_entry(self) -> dict[str, Any]:
        return {
            "at": datetime.now(UTC).isoformat(),
            "status_code": self.status_code,
            "error": self.error,
            "duration_ms": self.duration_ms,
        }


def signed_headers(secret: str, message_id: str, body: str, now: datetime) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with the endpoint's `whsec_` secret."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": StandardWebhook(secret).sign(message_id, now, body),
    }


async def send_delivery(
    webhook: Webhook, delivery: WebhookDelivery, settings: Settings
) -> AttemptOutcome:
    """One signed POST to the endpoint's checked address; 2xx is success, anything else not."""
    started = time.monotonic()

    def outcome(status: int | None, error: str | None) -> AttemptOutcome:
        succeeded = status is not None and 200 <= status < 300
        return AttemptOutcome(succeeded, status, error, round((time.monotonic() - started) * 1000))

    try:
        target = await asyncio.to_thread(resolve_webhook_target, webhook.url, settings)
    except WebhookUrlRefused as exc:
        return outcome(None, exc.message)
    body = json.dumps(delivery.message, separators=(",", ":"), ensure_ascii=False)
    headers = {
        "User-Agent": USER_AGENT,
        "Content-Type": "application/json",
        **signed_headers(webhook.secret, str(delivery.id), body, datetime.now(UTC)),
    }
    timeout = httpx.Timeout(settings.webhook_timeout_seconds)
    try:
        async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
            request = pinned_request(client, "POST", target, headers, content=body.encode())
            response = await client.send(request)
    except httpx.TimeoutException:
        return outcome(None, f"No answer within {settings.webhook_timeout_seconds:g} s")
    except httpx.TransportError as exc:
        return outcome(None, f"Could not connect ({type(exc).__name__})")
    if 200 <= response.status_code < 300:
        return outcome(response.status_code, None)
    return outcome(
        response.status_code,
        f"HTTP {response.status_code}: {response.text[:MAX_LOGGED_BODY]}",
    )
