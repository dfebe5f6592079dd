"""Start moto, create the resources template.yaml defines, and serve the functions."""

from __future__ import annotations

import importlib
import os
import threading

from moto.server import ThreadedMotoServer

from local_run.gateway import make_server

REGION = "us-east-1"


class LocalStack:
    def __init__(self, host: str, port: int, aws_port: int) -> None:
        self.host, self.port, self.aws_port = host, port, aws_port
        self.endpoint = f"http://{host}:{aws_port}"
        self._moto = ThreadedMotoServer(ip_address=host, port=aws_port, verbose=False)
        self._threads: list[threading.Thread] = []
        self._http = None

    def _configure_environment(self) -> None:
        """What Lambda's environment and the template's variables give the functions."""
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
                "POWERTOOLS_METRICS_NAMESPACE": os.environ.get(
                    "POWERTOOLS_METRICS_NAMESPACE", "ImdbSentiment"
                ),
            }
        )

    def start(self) -> None:
        self._moto.start()
        self._configure_environment()
        api = importlib.import_module("functions.api.app")
        self._http = make_server(self.host, self.port, api.lambda_handler, "api")
        self.port = self._http.server_address[1]
        thread = threading.Thread(target=self._http.serve_forever, name="http-api", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        if self._http:
            self._http.shutdown()
            self._http.server_close()
        self._moto.stop()

    def banner(self) -> str:
        url = f"http://{self.host}:{self.port}"
        return "\n".join(
            [
                f"HTTP API      {url}   (OpenAPI: {url}/openapi.json)",
                f"local AWS     {self.endpoint}   (moto: S3, SQS, DynamoDB)",
                "",
                "try:",
                f"  curl -s {url}/health",
                f"  curl -s -X POST {url}/predict -H 'content-type: application/json' "
                '-d \'{"text": "The movie was amazing!"}\'',
                "Ctrl-C stops.",
            ]
        )
