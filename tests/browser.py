"""Headless Chromium for the browser tests: Debian's `/usr/bin/chromium` driven by Playwright
(which never downloads a browser of its own), and pages that may talk to one server only.

Without Chromium the tests skip; under REQUIRE_SERVICES=1 they fail.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, Page, Request, Route, sync_playwright

from tests.conftest import service_missing


@contextmanager
def chromium() -> Iterator[Browser]:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        service_missing("Chromium", "no chromium on PATH (Debian package `chromium`)")
    assert executable is not None
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable)
        try:
            yield launched
        finally:
            launched.close()


def keep_on_server(
    page: Page,
    base_url: str,
    outside: list[str],
    on_request: Callable[[Request], None] | None = None,
) -> None:
    """Abort (and record in `outside`) every request of `page` not to `base_url`; hand every
    request to `on_request` first."""

    def route(route: Route) -> None:
        request = route.request
        if on_request is not None:
            on_request(request)
        url = request.url
        if url == base_url or url.startswith(base_url + "/"):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    page.route("**/*", route)


def record_errors(page: Page, errors: list[str]) -> None:
    """Console errors and uncaught page errors, as they happen."""
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
