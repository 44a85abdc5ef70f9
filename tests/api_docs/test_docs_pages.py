"""/docs and /redoc in headless Chromium against the real server, with the internet cut off.

Every request that would leave loopback is aborted and recorded, and every console error
(a CSP violation, a script that failed) is recorded too: the pages must list the operations
with neither. Chromium as in tests/browser.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.api_server import ApiServer, run_api_server
from tests.browser import keep_on_server, record_errors

pytestmark = pytest.mark.slow

RENDER_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    with run_api_server(tmp_path_factory.mktemp("docs")) as running:
        yield running


@dataclass
class OfflinePage:
    page: Page
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def offline(browser: Browser, server: ApiServer) -> Iterator[OfflinePage]:
    """A page whose requests may only go to the server under test."""
    context = browser.new_context()
    page = context.new_page()
    watched = OfflinePage(page)
    keep_on_server(page, server.base_url, watched.outside)
    record_errors(page, watched.errors)
    yield watched
    context.close()


def test_pages_forbid_everything_but_this_server(server: ApiServer) -> None:
    for path in ("/docs", "/redoc"):
        response = httpx.get(server.base_url + path)
        assert response.status_code == 200, path
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert "https:" not in policy and "http:" not in policy
        assert "<script>" not in response.text, "inline scripts would need 'unsafe-inline'"


def test_swagger_ui_lists_operations_and_authorize_sends_the_key(
    offline: OfflinePage, server: ApiServer
) -> None:
    page = offline.page
    page.goto(server.base_url + "/docs")
    courses = page.locator(".opblock-summary-path[data-path='/api/v1/courses']")
    courses.first.wait_for(timeout=RENDER_TIMEOUT_MS)
    assert courses.count() == 2  # GET and POST
    assert page.locator(".opblock-post .opblock-summary-method", has_text="POST").count() >= 5

    key = server.new_key()
    page.locator(".auth-wrapper .btn.authorize").click()
    page.locator(".auth-container input").fill(key)
    page.locator(".auth-btn-wrapper .btn.authorize").click()
    page.locator(".auth-btn-wrapper .btn-done").click()
    page.locator(".opblock-summary-path[data-path='/api/v1/me']").click()
    page.locator(".try-out__btn").click()
    page.locator(".btn.execute").click()
    status = page.locator(".live-responses-table tr.response .response-col_status").first
    status.wait_for(timeout=RENDER_TIMEOUT_MS)
    assert status.inner_text().strip() == "200"

    assert offline.outside == []
    assert offline.errors == []


def test_redoc_lists_operations(offline: OfflinePage, server: ApiServer) -> None:
    page = offline.page
    page.goto(server.base_url + "/redoc")
    courses = page.get_by_text("/api/v1/courses", exact=True)
    courses.first.wait_for(timeout=RENDER_TIMEOUT_MS)
    assert courses.count() >= 1
    assert page.get_by_text("post", exact=True).count() >= 5  # the method badges
    # The search index runs in a blob: worker, which the CSP allows.
    page.get_by_role("textbox", name="Search").fill("material document")
    found = page.locator("[data-role='search:results'] [role='menuitem']")
    found.first.wait_for(timeout=RENDER_TIMEOUT_MS)
    assert any("Get Material Document" in text for text in found.all_inner_texts())

    assert offline.outside == []
    assert offline.errors == []
