"""The panel's live parts in headless Chromium against a real server on loopback: one event
stream per session read with fetch() (the key in its header, never in a URL), material status
and job progress shown as events arrive without polling, resuming with Last-Event-ID after the
server ends the stream, the webhooks screen (secret shown once, a delivery in the log, a refused
URL), and the key's expiry warning. Screenshots at 1280 and 390 px go to PANEL_SCREENSHOTS.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, expect

from tests.api_server import ApiServer, run_api_server
from tests.browser import WIDE, keep_on_server, record_errors, shoot_both_widths
from tests.ingestion.conftest import topic_pages_pdf

pytestmark = pytest.mark.slow

STEP_TIMEOUT_MS = 60_000
# The page a web material fetches answers this late: the material stays `processing` meanwhile.
SLOW_PAGE_SECONDS = 6.0
RECORD_PAGE = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
window.__progressSeen = [];
new MutationObserver(() => {
  for (const node of document.querySelectorAll("[data-job-progress]")) {
    const text = node.textContent;
    if (!window.__progressSeen.includes(text)) window.__progressSeen.push(text);
  }
}).observe(document, { subtree: true, childList: true, characterData: true });
"""
SLOW_PAGE = b"""<!doctype html><html><head><title>Merging</title></head><body><main>
<h1 id="merging">Merging branches</h1>
<p>A merge joins the histories of two branches into one commit that has two parents.</p>
<p>When both branches changed the same lines, git stops and asks which version to keep.</p>
</main></body></html>"""


class SlowPages:
    """A real HTTP server on loopback: pages after SLOW_PAGE_SECONDS, webhook POSTs at once."""

    def __init__(self) -> None:
        self.hooks: list[bytes] = []
        pages = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                time.sleep(SLOW_PAGE_SECONDS)
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(SLOW_PAGE)))
                self.end_headers()
                self.wfile.write(SLOW_PAGE)

            def do_POST(self) -> None:
                pages.hooks.append(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def pages() -> Iterator[SlowPages]:
    running = SlowPages()
    yield running
    running.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pages: SlowPages) -> Iterator[ApiServer]:
    with run_api_server(
        tmp_path_factory.mktemp("panel-live"),
        EMBEDDED_WORKER="true",
        JOB_PROGRESS_INTERVAL_SECONDS="0",
        EVENTS_POLL_INTERVAL_SECONDS="0.2",
        EVENTS_KEEPALIVE_SECONDS="1",
        EVENTS_RETRY_MS="300",
        # Short streams: the panel must resume with Last-Event-ID, as after any drop.
        EVENTS_STREAM_MAX_SECONDS="8",
        WEBHOOK_ALLOW_LOOPBACK="true",
        FETCH_ALLOWED_HOSTS=pages.url.removeprefix("http://"),
        FETCH_TIMEOUT_SECONDS="30",
    ) as running:
        yield running


@dataclass
class Seen:
    page: Page
    base_url: str
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    expected_errors: list[str] = field(default_factory=list)

    def note(self, request: Request) -> None:
        self.requests.append((request.method, request.url, request.headers))

    def gets(self, pattern: str) -> list[dict[str, str]]:
        return [h for m, url, h in self.requests if m == "GET" and re.search(pattern, url)]

    def shoot(self, name: str) -> None:
        shoot_both_widths(self.page, f"live-{name}")


@pytest.fixture
def seen(browser: Browser, server: ApiServer) -> Iterator[Seen]:
    context = browser.new_context(viewport={"width": WIDE, "height": 900})
    context.add_init_script(RECORD_PAGE)
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    watched = Seen(page, server.base_url)
    keep_on_server(page, server.base_url, watched.outside, watched.note)
    record_errors(page, watched.errors)
    yield watched
    assert watched.outside == []
    assert page.evaluate("window.__cspViolations") == []
    assert [e for e in watched.errors if e not in watched.expected_errors] == []
    context.close()


def sign_in(page: Page, server: ApiServer, key: str, state: str = "live") -> None:
    page.goto(server.base_url + "/app")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#live-state")).to_have_attribute("data-state", state)


def test_materials_and_jobs_change_live_and_the_stream_resumes(
    seen: Seen, server: ApiServer, pages: SlowPages, tmp_path: Path
) -> None:
    page = seen.page
    key = server.new_key("--rate-prep", "1000", "--rate-check", "1000", "--expires-in", "7d")
    headers = {"X-API-Key": key}
    course = httpx.post(
        server.base_url + "/api/v1/courses", headers=headers, json={"title": "Git, live"}
    ).json()
    sign_in(page, server, key)
    streams = seen.gets(r"/api/v1/events")
    assert streams, "no event stream was opened"
    assert streams[0]["x-api-key"] == key
    assert "text/event-stream" in streams[0]["accept"]
    seen.shoot("01-signed-in")

    page.goto(f"{server.base_url}/app#/courses/{course['id']}")
    expect(page.locator("#course-title")).to_have_text("Git, live")
    # A web page that takes SLOW_PAGE_SECONDS to answer: the material sits in `processing`.
    page.get_by_label("Web page address").fill(pages.url + "/merging.html")
    page.get_by_role("button", name="Add page").click()
    expect(page.locator("tr[data-status=processing]")).to_have_count(1)
    listing = rf"/courses/{course['id']}/materials\?"
    before = len(seen.gets(listing))
    page.wait_for_timeout(3000)
    assert len(seen.gets(listing)) == before, "the material list was polled while nothing changed"
    seen.shoot("02-processing")
    expect(page.locator("tr[data-status=done]")).to_have_count(1, timeout=60_000)
    # A read per event about it (the job's progress and end, material.done, a reopened
    # stream), not one a second for the SLOW_PAGE_SECONDS it took.
    assert len(seen.gets(listing)) - before <= 4

    # A PDF of several pages, then the structure: its progress is shown as it is reported.
    pdf = tmp_path / "book.pdf"
    pdf.write_bytes(topic_pages_pdf())
    page.locator("#material-files").set_input_files(str(pdf))
    expect(page.locator("tr[data-status=done]")).to_have_count(2, timeout=120_000)
    page.get_by_role("button", name="Generate structure").click()
    expect(page.locator("[data-job-status=succeeded]")).to_be_visible(timeout=120_000)
    progress: list[str] = page.evaluate("window.__progressSeen")
    assert progress, "no progress of the generation was shown"
    assert all(re.match(r"[a-z ]+(: \d+ of \d+)?$", text) for text in progress), progress
    seen.shoot("03-generated")

    # The server ends each stream after EVENTS_STREAM_MAX_SECONDS: the next one resumes.
    page.wait_for_function(
        "n => performance.getEntriesByType('resource')"
        ".filter(e => e.name.includes('/api/v1/events')).length > n",
        arg=len(seen.gets(r"/api/v1/events")),
        timeout=30_000,
    )
    resumed = [h for h in seen.gets(r"/api/v1/events") if "last-event-id" in h]
    assert resumed, "a stream was reopened without Last-Event-ID"
    assert all(h["last-event-id"].isdigit() for h in resumed)
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")

    # The key: limits, and the warning of an expiry within 14 days.
    page.get_by_role("link", name="Key").click()
    expect(page.locator("#expiry-warning")).to_contain_text("expires in 6 days")
    seen.shoot("04-key-expiring")
    assert not any(key in url for _, url, _ in seen.requests), "the key appeared in a URL"


def test_the_webhooks_screen_registers_shows_the_secret_once_and_logs_deliveries(
    seen: Seen, server: ApiServer, pages: SlowPages
) -> None:
    page = seen.page
    key = server.new_key("--rate-prep", "1000")
    sign_in(page, server, key)
    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks")).to_be_visible()

    # The outbound-address guard refuses a metadata address (the browser logs the 422).
    seen.expected_errors.append(
        "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
    )
    page.get_by_label("URL").fill("http://169.254.169.254/latest")
    page.get_by_label("A material was read (material.done)").check()
    page.get_by_role("button", name="Register endpoint").click()
    expect(page.get_by_role("alert").first).to_contain_text("This URL was refused")
    seen.shoot("05-webhook-refused")

    page.get_by_label("URL").fill(pages.url + "/hooks")
    page.get_by_role("button", name="Register endpoint").click()
    secret = page.locator("#webhook-secret")
    expect(secret).to_have_text(re.compile(r"^whsec_"))
    expect(page.locator(".secret-once")).to_contain_text("you will not see it again")
    seen.shoot("06-webhook-secret")
    page.get_by_role("button", name="I have stored it").click()
    expect(secret).to_have_count(0)
    listed = httpx.get(server.base_url + "/api/v1/webhooks", headers={"X-API-Key": key}).json()
    assert "secret" not in listed["items"][0]

    page.get_by_role("button", name="Show deliveries").click()
    expect(page.get_by_text("Nothing sent yet.")).to_be_visible()
    # An event of the chosen type: a material read.
    headers = {"X-API-Key": key}
    course = httpx.post(
        server.base_url + "/api/v1/courses", headers=headers, json={"title": "Hooks"}
    ).json()
    httpx.post(
        f"{server.base_url}/api/v1/courses/{course['id']}/materials",
        headers=headers,
        data={"source_type": "text"},
        files={"file": ("notes.md", b"# Notes\n\nA commit records a snapshot.\n")},
    ).raise_for_status()
    delivered = page.locator("tr[data-delivery-status=succeeded]")
    for _ in range(30):
        if delivered.count():
            break
        page.get_by_role("button", name="Refresh").click()
        page.wait_for_timeout(1000)
    expect(delivered).to_contain_text("material.done")
    expect(delivered).to_contain_text("204")
    assert pages.hooks, "the receiver got nothing"
    seen.shoot("07-webhook-deliveries")


def test_without_the_stream_the_panel_says_offline_and_polls(
    seen: Seen, server: ApiServer, pages: SlowPages
) -> None:
    """A proxy in front of the API that refuses the stream (503): the watches poll instead."""
    page = seen.page
    page.route(
        "**/api/v1/events",
        lambda route: route.fulfill(
            status=503, content_type="application/json", body='{"detail": "no streams here"}'
        ),
    )
    seen.expected_errors.append(
        "Failed to load resource: the server responded with a status of 503 (Service Unavailable)"
    )
    key = server.new_key("--rate-prep", "1000")
    headers = {"X-API-Key": key}
    course = httpx.post(
        server.base_url + "/api/v1/courses", headers=headers, json={"title": "Polled"}
    ).json()
    sign_in(page, server, key, state="polling")
    expect(page.locator("#live-state")).to_have_text("Offline")
    page.goto(f"{server.base_url}/app#/courses/{course['id']}")
    page.get_by_label("Web page address").fill(pages.url + "/polled.html")
    page.get_by_role("button", name="Add page").click()
    expect(page.locator("tr[data-status=processing]")).to_have_count(1)
    listing = rf"/courses/{course['id']}/materials\?"
    before = len(seen.gets(listing))
    page.wait_for_timeout(3000)
    assert len(seen.gets(listing)) - before >= 2, "it did not poll while the stream was refused"
    seen.shoot("08-offline-polling")
    expect(page.locator("tr[data-status=done]")).to_have_count(1, timeout=60_000)
