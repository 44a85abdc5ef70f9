"""/app: the panel's page, and its assets under a path that changes whenever one of them does."""

from __future__ import annotations

import hashlib
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

PAGE_PATH = "/app"
# Nothing inline: scripts, styles and the chart's SVG all come from this server; the page may
# only call this server's API; no frame, plugin or foreign form target.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
# Assets live under their content digest, so a browser may keep them for a year; the page
# itself is revalidated on every load and names the current digest.
ASSET_CACHE_CONTROL = b"public, max-age=31536000, immutable"
PAGE_CACHE_CONTROL = "no-cache"

router = APIRouter(include_in_schema=False)


def _static_root() -> resources.abc.Traversable:
    return resources.files("course_supporter.panel").joinpath("static")


def _digest_of_assets() -> str:
    digest = hashlib.sha256()
    pending = [_static_root()]
    while pending:
        folder = pending.pop()
        for entry in sorted(folder.iterdir(), key=lambda item: item.name):
            if entry.is_dir():
                pending.append(entry)
            elif entry.name != "index.html":
                digest.update(entry.name.encode())
                digest.update(entry.read_bytes())
    return digest.hexdigest()[:16]


ASSET_DIGEST = _digest_of_assets()
ASSETS_PATH = f"{PAGE_PATH}/assets/{ASSET_DIGEST}"
_PAGE_TEMPLATE = _static_root().joinpath("index.html").read_text(encoding="utf-8")


class PanelAssets:
    """The shipped static files, each answer marked as cacheable for good."""

    def __init__(self) -> None:
        self.files = StaticFiles(packages=[("course_supporter.panel", "static")])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_cacheable(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                message["headers"] = [
                    *message.get("headers", []),
                    (b"cache-control", ASSET_CACHE_CONTROL),
                ]
            await send(message)

        await self.files(scope, receive, send_cacheable)


def panel_assets() -> PanelAssets:
    return PanelAssets()


@router.get(PAGE_PATH)
async def panel_page(request: Request) -> HTMLResponse:
    """The panel's single page; its scripts sign in with an API key the person types."""
    root_path = request.scope.get("root_path", "")
    page = _PAGE_TEMPLATE.replace("{{assets}}", root_path + ASSETS_PATH).replace(
        "{{api}}", root_path + "/api/v1"
    )
    return HTMLResponse(
        page,
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "Cache-Control": PAGE_CACHE_CONTROL,
        },
    )
