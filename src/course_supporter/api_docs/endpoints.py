"""Swagger UI at /docs and ReDoc at /redoc, served from files shipped in the package."""

from __future__ import annotations

import secrets
from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS_PATH = "/docs/assets"
# The <style> elements ReDoc's bundle adds while it loads, before it knows the page's nonce: an
# empty one and perfect-scrollbar's rules. After a ReDoc update the browser test names the
# hash of any new one (tests/api_docs/test_docs_pages.py).
REDOC_LOAD_TIME_STYLES = (
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
    "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",
)

router = APIRouter(include_in_schema=False)


def docs_assets() -> StaticFiles:
    """The vendored Swagger UI and ReDoc files, read from the installed package."""
    return StaticFiles(packages=[("course_supporter.api_docs", "static")])


def content_security_policy(nonce: str, styles: tuple[str, ...] = ()) -> str:
    """Only this server: no inline script, inline styles only by the nonce or a `styles` hash."""
    # Beyond 'self': the `data:` images Swagger UI's stylesheet inlines, and the `blob:` worker
    # ReDoc builds for its search box.
    return "; ".join(
        [
            "default-src 'self'",
            " ".join(["style-src 'self'", f"'nonce-{nonce}'", *styles]),
            "img-src 'self' data:",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI for the app's OpenAPI document, with the Authorize button for the key."""
    return _page(
        request,
        name="Swagger UI",
        root_id="swagger-ui",
        stylesheets=["swagger-ui/swagger-ui.css"],
        scripts=["swagger-ui/swagger-ui-bundle.js", "swagger-init.js"],
    )


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """ReDoc for the app's OpenAPI document."""
    return _page(
        request,
        name="ReDoc",
        root_id="redoc",
        stylesheets=[],
        scripts=["redoc/redoc.standalone.js", "redoc-init.js"],
        styles=REDOC_LOAD_TIME_STYLES,
    )


def _page(
    request: Request,
    *,
    name: str,
    root_id: str,
    stylesheets: list[str],
    scripts: list[str],
    styles: tuple[str, ...] = (),
) -> HTMLResponse:
    root_path = request.scope.get("root_path", "")
    assets = escape(root_path + ASSETS_PATH)
    openapi_url = escape(root_path + (request.app.openapi_url or ""))
    nonce = secrets.token_urlsafe(16)
    lines = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(request.app.title)} - {name}</title>",
        f'<link rel="icon" type="image/png" href="{assets}/swagger-ui/favicon-32x32.png">',
        *(f'<link rel="stylesheet" href="{assets}/{sheet}">' for sheet in stylesheets),
        "</head>",
        "<body>",
        f'<div id="{root_id}" data-openapi-url="{openapi_url}" data-nonce="{nonce}"></div>',
        *(f'<script src="{assets}/{script}"></script>' for script in scripts),
        "</body>",
        "</html>",
    ]
    return HTMLResponse(
        "\n".join(lines),
        headers={
            "Content-Security-Policy": content_security_policy(nonce, styles),
            "Cache-Control": "no-store",
        },
    )
