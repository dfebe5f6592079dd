"""GET /docs: Powertools' Swagger UI, with its JavaScript and CSS served by this API.

The assets are the copies the aws-lambda-powertools package ships, served under /docs/ rather than
inlined or fetched from a CDN: the page works where the browser has no internet, and a
Content-Security-Policy of the API's own origin (plus the hash of Powertools' one inline start-up
script) covers it. None of these routes is in the OpenAPI document.

The routes are registered on the first request under /docs, not at init: Powertools' Swagger UI
set-up imports its OpenAPI models, about 70 ms of CPU that /predict never needs.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Callable
from pathlib import Path

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

DOCS_PATH = "/docs"
ASSETS = {"swagger-ui-bundle.min.js": "text/javascript", "swagger-ui.min.css": "text/css"}
# The package's assets change only with its version, which ships in a new image: a day is safe.
ASSET_CACHE_CONTROL = "public, max-age=86400"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


@functools.cache
def asset(name: str) -> str:
    from aws_lambda_powertools.event_handler.openapi import swagger_ui

    return (Path(swagger_ui.__file__).parent / name).read_text(encoding="utf-8")


def content_security_policy(html: str) -> str:
    """Only this origin; the inline start-up script is allowed by its hash, nothing else inline."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return (
        "default-src 'self'; "
        f"script-src 'self' {hashes}; "
        "style-src 'self'; "
        "img-src 'self' data:; "  # the UI's icons are data: URIs inside its own CSS
        "connect-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"
    )


def _with_security_headers(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
    response = next_middleware(app)
    if isinstance(response.body, str) and response.body.lstrip()[:15].lower() == "<!doctype html>":
        response.headers["Content-Security-Policy"] = content_security_policy(response.body)
        response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def enable_when_asked(app: APIGatewayHttpResolver, event: dict) -> None:
    """Enable the UI on app before it resolves the first request for it (see the module's docstring)."""
    if APIGatewayProxyEventV2(event).path.startswith(DOCS_PATH):  # the path as the resolver routes it
        enable(app)


@functools.cache  # once per app: a second registration would shadow the first
def enable(app: APIGatewayHttpResolver) -> None:
    """Serve the Swagger UI for app's OpenAPI document (title and version from configure_openapi)."""
    # Relative to the page, so the links hold under a stage or a custom domain's base path too.
    app.enable_swagger(
        path=DOCS_PATH,
        swagger_base_url=DOCS_PATH.lstrip("/"),
        middlewares=[_with_security_headers],
        compress=True,
    )
    for name, content_type in ASSETS.items():
        app.get(
            f"{DOCS_PATH}/{name}", include_in_schema=False, compress=True, cache_control=ASSET_CACHE_CONTROL
        )(asset_route(asset, name, content_type))


def asset_route(read: Callable[[str], str], name: str, content_type: str):
    """A route handler serving read(name), for /docs's and the upload page's own assets."""

    # No parameters and no return annotation: the resolver's validation would read them as the API's.
    def serve():
        return Response(
            status_code=200,
            content_type=content_type,
            body=read(name),
            headers={"X-Content-Type-Options": "nosniff"},
        )

    return serve
