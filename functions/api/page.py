"""GET /: a page to score a file of reviews in the browser, with its script and style under /app/.

It uploads straight to S3 with the form POST /files gives, follows GET /files/{file_id} to done, shows
the report in a sandboxed frame and links the downloads. Its Content-Security-Policy is /docs's, with
nothing inline at all: scripts and styles only from this origin; uploads and the report frame only to
the data bucket's own endpoint. None of these routes is in the OpenAPI document.
"""

from __future__ import annotations

import functools
from pathlib import Path

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from functions.api import files
from functions.api.docs import asset_route

router = Router()
PAGE_DIR = Path(__file__).parent / "page"
ASSETS = {"page.js": "text/javascript", "page.css": "text/css"}
# The assets change only with a new image; an hour bounds how long a browser keeps an old one.
ASSET_CACHE_CONTROL = "public, max-age=3600"


@functools.cache
def read(name: str) -> str:
    return (PAGE_DIR / name).read_text(encoding="utf-8")


def content_security_policy(bucket_origin: str) -> str:
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {bucket_origin}; frame-src {bucket_origin}; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'"
    )


@router.get("/", include_in_schema=False, compress=True, cache_control="no-cache")
def page():  # no annotation: the resolver's validation would read one as the API's
    return Response(
        status_code=200,
        content_type="text/html; charset=utf-8",
        body=read("index.html"),
        headers={
            "Content-Security-Policy": content_security_policy(files.store().origin),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",  # a presigned link is a credential: never sent onwards
        },
    )


for _name, _type in ASSETS.items():
    router.get(f"/app/{_name}", include_in_schema=False, compress=True, cache_control=ASSET_CACHE_CONTROL)(
        asset_route(read, _name, _type)
    )
