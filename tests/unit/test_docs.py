"""GET /docs: Powertools' Swagger UI with its assets served by the API, under a strict CSP."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from pathlib import Path

from aws_lambda_powertools.event_handler.openapi import swagger_ui

from local_run.lambda_context import LocalLambdaContext

EVENTS = Path(__file__).resolve().parents[2] / "events"
ASSET_DIR = Path(swagger_ui.__file__).parent


def get(api, path: str, query: str = "", **headers: str) -> dict:
    event = json.loads((EVENTS / "api_health.json").read_text())
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["rawQueryString"] = query
    if query:
        event["queryStringParameters"] = dict(pair.split("=") for pair in query.split("&"))
    event["headers"].update(headers)
    return api.lambda_handler(event, LocalLambdaContext(function_name="api"))


def body_of(response: dict) -> bytes:
    if response.get("isBase64Encoded"):
        data = base64.b64decode(response["body"])
        return gzip.decompress(data) if response["headers"].get("Content-Encoding") == "gzip" else data
    return response["body"].encode()


def test_page_links_assets_of_its_own_origin_under_a_strict_csp(api):
    response = get(api, "/docs")
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "text/html"
    html = body_of(response).decode()
    sources = re.findall(r"""<script src='([^']+)'""", html) + re.findall(r"""href='([^']+)'""", html)
    assert sorted(sources) == ["docs/swagger-ui-bundle.min.js", "docs/swagger-ui.min.css"]
    assert "<style>" not in html and "//" not in " ".join(sources)  # nothing inline, no other origin

    csp = dict(d.strip().split(" ", 1) for d in response["headers"]["Content-Security-Policy"].split(";"))
    assert csp["default-src"] == "'self'" and csp["style-src"] == "'self'"
    (inline,) = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    assert csp["script-src"] == f"'self' 'sha256-{digest}'"
    assert '"title": "IMDB sentiment API"' in inline and '"/predict"' in inline


def test_assets_come_from_the_powertools_package_compressed_and_cached(api):
    for name, content_type in (
        ("swagger-ui-bundle.min.js", "text/javascript"),
        ("swagger-ui.min.css", "text/css"),
    ):
        plain = get(api, f"/docs/{name}")
        assert plain["statusCode"] == 200 and plain["headers"]["Content-Type"] == content_type
        assert body_of(plain) == (ASSET_DIR / name).read_bytes()
        assert plain["headers"]["Cache-Control"] == "public, max-age=86400"
        zipped = get(api, f"/docs/{name}", **{"accept-encoding": "gzip, deflate"})
        assert zipped["headers"]["Content-Encoding"] == "gzip" and zipped["isBase64Encoded"]
        assert body_of(zipped) == (ASSET_DIR / name).read_bytes()
        assert len(zipped["body"]) < len(plain["body"]) / 2
    assert get(api, "/docs/other.js")["statusCode"] == 404


def test_docs_routes_stay_out_of_the_openapi_document(api):
    document = json.loads(body_of(get(api, "/openapi.json")))
    assert not [path for path in document["paths"] if path.startswith("/docs")]
    assert document["info"] == {"title": "IMDB sentiment API", "version": document["info"]["version"]}
    from_docs = json.loads(body_of(get(api, "/docs", "format=json")))
    assert from_docs["paths"] == document["paths"] and from_docs["info"] == document["info"]


def test_compressed_page_keeps_its_policy(api):
    plain, zipped = get(api, "/docs"), get(api, "/docs", **{"accept-encoding": "gzip"})
    assert zipped["headers"]["Content-Encoding"] == "gzip" and body_of(zipped) == body_of(plain)
    assert zipped["headers"]["Content-Security-Policy"] == plain["headers"]["Content-Security-Policy"]
