"""Headless Chromium for the browser tests: Debian's `/usr/bin/chromium` driven by Playwright
(which never downloads a browser of its own), and pages that may talk to one server only.

Without Chromium the tests skip; under REQUIRE_SERVICES=1 they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, Request, Route, sync_playwright

from tests.api_server import PROJECT_ROOT
from tests.conftest import service_missing

WIDE, NARROW = 1280, 390
SCREENSHOTS = Path(
    os.environ.get("PANEL_SCREENSHOTS") or PROJECT_ROOT / "var" / "screenshots" / "panel"
)


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


def shoot_both_widths(page: Page, name: str) -> None:
    """Screenshots of the page now at 1280 and 390 px in SCREENSHOTS; at 390 px nothing may
    overflow sideways."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width in (WIDE, NARROW):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
        if width == NARROW:
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name}: {overflow}px wider than a {NARROW}px screen"
    page.set_viewport_size({"width": WIDE, "height": 900})
