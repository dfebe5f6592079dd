"""Start moto, create the resources template.yaml defines, and serve the functions."""

from __future__ import annotations

import importlib
import logging
import os
import threading

from moto.server import ThreadedMotoServer

from local_run.gateway import make_server
from local_run.pollers import Poller, S3NotificationPoller, SqsPoller
from local_run.resources import Resources, create_resources

REGION = "us-east-1"


class LocalStack:
    def __init__(self, host: str, port: int, aws_port: int) -> None:
        self.host, self.port, self.aws_port = host, port, aws_port
        self.endpoint = f"http://{host}:{aws_port}"
        self._moto = ThreadedMotoServer(ip_address=host, port=aws_port, verbose=False)
        self._lock = threading.Lock()  # all functions share this process: one invocation at a time
        self._pollers: list[Poller] = []
        self._http = None
        self.resources: Resources | None = None

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
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log
        self._moto.start()
        self._configure_environment()
        self.resources = create_resources()
        os.environ.update(self.resources.environment())
        api = importlib.import_module("functions.api.app")
        worker = importlib.import_module("functions.worker.app")
        batch = importlib.import_module("functions.batch.app")

        self._http = make_server(self.host, self.port, api.lambda_handler, "api", self._lock)
        self.port = self._http.server_address[1]
        threading.Thread(target=self._http.serve_forever, name="http-api", daemon=True).start()
        self._pollers = [
            SqsPoller(self.resources.jobs_queue_url, worker.lambda_handler, "worker", self._lock),
            S3NotificationPoller(
                self.resources.batch_queue_url, batch.lambda_handler, "batch", self._lock, batch_size=1
            ),
        ]
        for poller in self._pollers:
            poller.start()

    def stop(self) -> None:
        for poller in self._pollers:
            poller.stop()
        for poller in self._pollers:
            poller.join(timeout=10)
        if self._http:
            self._http.shutdown()
            self._http.server_close()
        self._moto.stop()

    def banner(self) -> str:
        url = f"http://{self.host}:{self.port}"
        r = self.resources
        aws = f"aws --endpoint-url {self.endpoint}"
        return "\n".join(
            [
                f"HTTP API     {url}   (OpenAPI document: {url}/openapi.json, Swagger UI: {url}/docs)",
                f"local AWS    {self.endpoint}   (moto: S3, SQS, DynamoDB; any credentials)",
                f"bucket       {r.bucket}   (CSV in: incoming/, results: scored/)",
                f"queues       jobs: {r.jobs_queue_url}",
                f"             dead letters: {r.jobs_dlq_url}",
                f"tables       {r.jobs_table}, {r.idempotency_table}",
                f"registry     s3://{r.artifacts_bucket}/models/   (make publish-model ARTIFACTS_BUCKET=...)",
                "",
                "try:",
                f"  curl -s {url}/health",
                f"  curl -s -X POST {url}/predict -H 'content-type: application/json' "
                '-d \'{"text": "The movie was amazing!"}\'',
                f"  curl -s -X POST {url}/jobs -H 'content-type: application/json' "
                '-d \'{"texts": ["Loved it.", "Hated it."]}\'     then GET /jobs/<job_id>',
                f"  {aws} s3 cp reviews.csv s3://{r.bucket}/incoming/reviews.csv",
                f"  {aws} s3 cp s3://{r.bucket}/scored/reviews.csv -",
                "Ctrl-C stops.",
            ]
        )
