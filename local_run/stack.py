"""Start moto, create the resources template.yaml defines, and serve the functions side by side."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from unittest import mock

import boto3
import requests
from moto.server import ThreadedMotoServer

from local_run import shadow
from local_run.fanout import FUNCTIONS as FANOUT_FUNCTIONS
from local_run.fanout import create_state_machine
from local_run.functions import FunctionPool, route_invocations
from local_run.gateway import make_server
from local_run.moto_overhead import lighter_moto
from local_run.pollers import Poller, SqsPoller, UploadRouter
from local_run.resources import (
    START_RULES,
    Resources,
    async_retries,
    bucket_cors,
    create_resources,
    function_timeout,
    parameter_default,
    rule_pattern,
)

REGION = "us-east-1"
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
MODULES = {
    "api": "functions.api.app",
    "worker": "functions.worker.app",
    "batch": "functions.batch.app",
    **FANOUT_FUNCTIONS,
}
# Execution environments per function, like Lambda's concurrency: chunks score on every core, and
# the API keeps two of its own so a request never waits behind a file.
CONCURRENCY = {"api": 2, "worker": 1, "batch": 1, "fanout-split": 1, "fanout-score": CORES, "fanout-merge": 1}


def concurrency() -> dict[str, int]:
    """CONCURRENCY, overridden by LOCAL_CONCURRENCY="fanout-score=4,api=1"."""
    chosen = dict(CONCURRENCY)
    for item in filter(None, os.environ.get("LOCAL_CONCURRENCY", "").split(",")):
        name, _, value = item.partition("=")
        if name.strip() not in chosen:
            raise SystemExit(
                f"LOCAL_CONCURRENCY: no function {name.strip()!r}; functions: {', '.join(chosen)}"
            )
        chosen[name.strip()] = max(1, int(value))
    return chosen


@contextmanager
def bucket_cors_as_in_s3() -> Iterator[None]:
    """The data bucket's CORS rule decides which pages may upload, as in S3: moto's server would answer
    every origin, and, told not to, it leaves the CORS headers off a POST upload's answer, which S3
    sends when the rule allows the origin (without them the page cannot read the answer)."""
    from moto.s3.responses import S3Response

    original = S3Response._bucket_response_post

    def post_with_cors(self: S3Response, request: object, bucket_name: str) -> tuple:
        status, headers, body = original(self, request, bucket_name)
        return status, {**self._get_cors_headers_other(), **headers}, body

    with (
        mock.patch("moto.moto_server.werkzeug_app.DISABLE_GLOBAL_CORS", True),
        mock.patch.object(S3Response, "_bucket_response_post", post_with_cors),
    ):
        yield


class LocalStack:
    def __init__(self, host: str, port: int, aws_port: int) -> None:
        self.host, self.port, self.aws_port = host, port, aws_port
        self.endpoint = f"http://{host}:{aws_port}"
        self._moto = ThreadedMotoServer(ip_address=host, port=aws_port, verbose=False)
        self._pollers: list[Poller] = []
        self._pools: dict[str, FunctionPool] = {}
        self._routes = ExitStack()
        self._http = None
        self.resources: Resources | None = None
        self.state_machine_arn = ""
        self.shadow_model_dir = None  # the shadow candidate, fetched from the local registry

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
                # Step Functions' interpreter calls Lambda and S3 at localhost:$MOTO_PORT.
                "MOTO_PORT": str(self.aws_port),
                # The page at / uploads with no sign-in here: nothing is spent but this machine's time.
                "ALLOW_ANONYMOUS_UPLOADS": os.environ.get("ALLOW_ANONYMOUS_UPLOADS", "true"),
            }
        )

    def _start_functions(self) -> None:
        sizes = concurrency()
        for name, module in MODULES.items():
            environment = {**os.environ, **self.resources.environment(name)}
            if name == "fanout-score":  # chunk workers share the cores instead of contending for them
                environment.setdefault("INFERENCE_THREADS", str(max(1, CORES // sizes[name])))
            self._pools[name] = FunctionPool(name, module, sizes[name], environment, function_timeout(name))
        with ThreadPoolExecutor(len(self._pools)) as starting:  # every cold start now, side by side
            list(starting.map(FunctionPool.warm, self._pools.values()))

    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log
        self._configure_environment()
        self._routes.enter_context(lighter_moto())
        self._routes.enter_context(bucket_cors_as_in_s3())
        self._moto.start()
        requests.post(
            f"{self.endpoint}/moto-api/config",
            json={"stepfunctions": {"execute_state_machine": True}},
            timeout=10,
        ).raise_for_status()
        self.resources = create_resources()
        self.shadow_model_dir = shadow.candidate_from_registry(self.resources.artifacts_bucket)
        os.environ.update(self.resources.environment())
        self._start_functions()
        self._routes.enter_context(route_invocations({n: self._pools[n] for n in FANOUT_FUNCTIONS}))
        self.state_machine_arn = create_state_machine(boto3.client("stepfunctions"))

        self._http = make_server(self.host, self.port, self._pools["api"], "api")
        self.port = self._http.server_address[1]
        boto3.client("s3").put_bucket_cors(
            Bucket=self.resources.bucket, CORSConfiguration=bucket_cors(f"http://{self.host}:{self.port}")
        )
        threading.Thread(target=self._http.serve_forever, name="http-api", daemon=True).start()
        self._pollers = [
            SqsPoller(self.resources.jobs_queue_url, self._pools["worker"], "worker"),
            UploadRouter(
                self.resources.uploads_queue_url,
                self.state_machine_arn,
                self._pools["batch"],
                {target: rule_pattern(rule) for target, rule in START_RULES.items()},
                async_retries("BatchFunction"),
                self.resources.queue_urls.get("BatchFailureQueue", ""),
            ),
        ]
        if self.shadow_model_dir:
            self._pools["shadow"], poller = shadow.start(self.resources, dict(os.environ))
            self._pollers.append(poller)
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
        self._routes.close()
        for pool in self._pools.values():
            pool.stop()
        self._moto.stop()

    def _shadow_banner(self) -> list[str]:
        if not self.shadow_model_dir:
            return ["shadow       off   (SHADOW_MODEL_DIR=<candidate artifact> make run)"]
        api = self.resources.environment("api")
        return [
            f"shadow       {os.environ['SHADOW_MODEL_VERSION']} scores a {api['SHADOW_SAMPLE_RATE']} share "
            "of /predict requests (SHADOW_SAMPLE_RATE); its metrics print below",
            f"             dead letters: {self.resources.queue_urls['ShadowDeadLetterQueue']}",
        ]

    def banner(self) -> str:
        url = f"http://{self.host}:{self.port}"
        r = self.resources
        aws = f"aws --endpoint-url {self.endpoint}"
        minimum = int(parameter_default({"Ref": "FanoutMinBytes"}))
        workers = ", ".join(f"{name} x{pool.concurrency}" for name, pool in self._pools.items())
        return "\n".join(
            [
                f"HTTP API     {url}   (OpenAPI document: {url}/openapi.json, Swagger UI: {url}/docs)",
                f"upload page  {url}/   (choose a CSV: it is scored, and its report shown)",
                f"local AWS    {self.endpoint}   (moto: S3, SQS, DynamoDB, Step Functions, EventBridge)",
                f"bucket       {r.bucket}   (CSV in: incoming/ (.csv, .csv.gz), results: scored/)",
                f"fan-out      {self.state_machine_arn}   (files of {minimum:,} bytes or more)",
                "fast path    batch function   (smaller files, one invocation; FanoutMinBytes)",
                f"file events  {r.file_events_queue_url}   (one per scored or failed file)",
                f"queues       jobs: {r.jobs_queue_url}",
                f"             dead letters: {r.jobs_dlq_url}",
                f"tables       {r.jobs_table}, {r.idempotency_table}",
                f"functions    {workers}   (worker processes; LOCAL_CONCURRENCY=fanout-score=4 to change)",
                f"registry     s3://{r.artifacts_bucket}/models/   (make publish-model ARTIFACTS_BUCKET=...)",
                *self._shadow_banner(),
                "",
                "try:",
                f"  curl -s {url}/health",
                f"  curl -s -X POST {url}/predict -H 'content-type: application/json' "
                '-d \'{"text": "The movie was amazing!"}\'',
                f"  curl -s -X POST {url}/jobs -H 'content-type: application/json' "
                '-d \'{"texts": ["Loved it.", "Hated it."]}\'     then GET /jobs/<job_id>',
                f"  {aws} s3 cp reviews.csv s3://{r.bucket}/incoming/reviews.csv",
                f"  {aws} s3 cp s3://{r.bucket}/scored/reviews.status.json -     (progress)",
                f"  {aws} s3 cp s3://{r.bucket}/scored/reviews.csv -",
                "Ctrl-C stops.",
            ]
        )
