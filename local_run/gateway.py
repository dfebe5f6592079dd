"""An HTTP server that turns each request into an HTTP API v2 event for the Lambda handler.

The handler is the API function's pool of execution environments (local_run.functions), so
requests run side by side up to its concurrency and queue beyond it, as Lambda's would.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from local_run.http_api_events import http_api_event
from local_run.lambda_context import LocalLambdaContext

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload quota: larger requests never reach Lambda
Handler = Callable[[dict, object], dict]


class _Server(ThreadingHTTPServer):
    # The standard library's listen backlog of 5 refuses connections when many clients open at once;
    # API Gateway never does.
    request_queue_size = 1024
    daemon_threads = True


def make_server(host: str, port: int, handler: Handler, function_name: str) -> ThreadingHTTPServer:

    class Gateway(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            try:
                length = int(self.headers.get("content-length") or 0)
            except ValueError:
                length = -1
            if length < 0:  # read(-1) would wait for the client to close: refuse instead
                self._reply(
                    400,
                    {"content-type": "application/json"},
                    json.dumps({"message": "Bad Request"}).encode(),
                    close=True,
                )
                return
            if length > MAX_BODY_BYTES:
                self._reply(
                    413,
                    {"content-type": "application/json"},
                    json.dumps({"message": "Request Entity Too Large"}).encode(),
                    close=True,
                )
                return
            body = self.rfile.read(length) if length else None
            url = urlsplit(self.path)
            event = http_api_event(
                self.command, url.path, dict(self.headers.items()), body, url.query, self.client_address[0]
            )
            try:
                result = handler(event, LocalLambdaContext(function_name=function_name))
            except Exception:  # what API Gateway answers when the function itself fails
                log.exception("handler raised")
                result = {
                    "statusCode": 500,
                    "body": json.dumps({"message": "Internal Server Error"}),
                    "headers": {"content-type": "application/json"},
                }
            payload = result.get("body") or ""
            data = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
            headers = dict(result.get("headers") or {})
            self._reply(
                int(result.get("statusCode", 200)), headers, data, cookies=result.get("cookies") or []
            )

        def _reply(
            self, status: int, headers: dict, data: bytes, cookies: list | None = None, close: bool = False
        ) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "connection"):
                    self.send_header(name, value)
            for cookie in cookies or []:
                self.send_header("set-cookie", cookie)
            self.send_header("content-length", str(len(data)))
            if close:
                self.send_header("connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _serve

        def log_message(self, fmt: str, *args) -> None:
            log.info("%s %s", self.address_string(), fmt % args)

    return _Server((host, port), Gateway)
