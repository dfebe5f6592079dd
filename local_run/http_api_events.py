"""API Gateway HTTP API (payload v2.0) events, shaped as API Gateway sends them."""

from __future__ import annotations

import base64
import time
import uuid
from urllib.parse import parse_qs


def http_api_event(
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None,
    query: str = "",
    source_ip: str = "127.0.0.1",
) -> dict:
    headers = {k.lower(): v for k, v in headers.items()}  # HTTP APIs lower-case header names
    is_text = body is not None and _is_text(headers.get("content-type", ""), body)
    now = time.time()
    event: dict = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": headers.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": base64.b32encode(uuid.uuid4().bytes)[:16].decode(),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": bool(body) and not is_text,
    }
    if query:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in parse_qs(query).items()}
    if body:
        event["body"] = body.decode("utf-8") if is_text else base64.b64encode(body).decode()
    return event


def _is_text(content_type: str, body: bytes) -> bool:
    """API Gateway base64-encodes bodies that are not text; undecodable bytes can't be sent as text either."""
    if not (
        content_type.startswith("text/")
        or "json" in content_type
        or "xml" in content_type
        or "x-www-form-urlencoded" in content_type
    ):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
