"""Request bodies as API Gateway delivers them, made safe for the router's JSON validation.

Without this, a body that is not UTF-8 or JSON nested past the parser's depth fails inside
the router and is answered 500; with it, both get the 400 any other invalid JSON gets. Form
bodies, which the router would read as fields, get the 415 of every other non-JSON type.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

# What an undecodable body becomes: not JSON, so validation answers it like any invalid JSON.
NOT_TEXT = "\ufffd"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
UNSUPPORTED_TYPE = "application/octet-stream"


def for_router(event: dict) -> dict:
    """The event with its body as text (API Gateway base64-encodes what it takes for binary)."""
    if not event.get("body"):
        return event
    event = dict(event)
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    if headers.get("content-type", "").strip().lower().startswith(FORM_TYPES):
        event["headers"] = {**headers, "content-type": UNSUPPORTED_TYPE}
    if event.get("isBase64Encoded"):
        try:
            event["body"] = base64.b64decode(event["body"], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            event["body"] = NOT_TEXT
        event["isBase64Encoded"] = False
    return event


def parse_json(body: str) -> Any:
    """json.loads, with nesting deeper than the parser can follow reported as invalid JSON."""
    try:
        return json.loads(body)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", body, 0) from None
