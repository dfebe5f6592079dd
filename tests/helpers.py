"""What the tests share: the events, a Lambda context, the handlers freshly imported, and ways to
deliver queue messages and read the EMF lines as Lambda and CloudWatch would."""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from unittest import mock

import boto3
import pytest
import requests
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from moto import mock_aws

from local_run.lambda_context import LocalLambdaContext
from local_run.pollers import sqs_event
from local_run.resources import Resources, create_resources
from sentiment_core import settings

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "events"
HANDLERS = ("api", "worker", "batch")


def load_event(name: str) -> dict:
    """A fresh copy of events/<name>."""
    return json.loads((EVENTS / name).read_text())


def known_reviews() -> tuple[list[str], list[str]]:
    """The reviews every served model must answer right (the PreTraffic hook's file), and their labels."""
    reviews = json.loads((REPO / "functions/pretraffic/known_reviews.json").read_text())
    return [r["text"] for r in reviews], [r["label"] for r in reviews]


def context(name: str, timeout_s: int = 900) -> LocalLambdaContext:
    return LocalLambdaContext(function_name=name, timeout_s=timeout_s)


def import_handlers(model=None) -> dict[str, ModuleType]:
    """The three handler modules imported afresh, as a new execution environment would; with `model`,
    their start-up serves it instead of loading the ONNX model."""
    for name in [m for m in sys.modules if m == "functions" or m.startswith("functions.")]:
        del sys.modules[name]
    settings.current.cache_clear()  # the environment the tests set up, as at a real init
    serving = (
        mock.patch("sentiment_core.adapters.startup.get_model", lambda _: model) if model else nullcontext()
    )
    with serving:
        return {name: importlib.import_module(f"functions.{name}.app") for name in HANDLERS}


def handler_fixtures(model_factory=None) -> tuple:
    """Fixtures `aws`, `handlers`, `api`, `worker`, `batch` for a test tier (a package): the in-process
    moto stack with the template's resources, and the handlers on it, serving `model_factory()` or,
    without one, the committed ONNX model. Each tier gets its own stack, gone when the tier ends."""

    @pytest.fixture(scope="package")
    def aws():
        os.environ.pop("AWS_ENDPOINT_URL", None)
        with mock_aws():
            resources = create_resources(visibility_timeout=0)  # failed messages come straight back
            os.environ.update(resources.environment())
            yield resources

    @pytest.fixture(scope="package")
    def handlers(aws) -> dict[str, ModuleType]:
        return import_handlers(model_factory() if model_factory else None)

    @pytest.fixture(scope="package")
    def api(handlers):
        return handlers["api"]

    @pytest.fixture(scope="package")
    def worker(handlers):
        return handlers["worker"]

    @pytest.fixture(scope="package")
    def batch(handlers):
        return handlers["batch"]

    return aws, handlers, api, worker, batch


def api_request(api, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    """A JSON request to the API handler, as API Gateway delivers it; (status, parsed body)."""
    request = load_event("api_predict_one.json")
    request["rawPath"] = request["requestContext"]["http"]["path"] = path
    request["requestContext"]["http"]["method"] = method
    request["routeKey"] = request["requestContext"]["routeKey"] = "$default"
    request["body"] = json.dumps(body) if body is not None else None
    response = api.lambda_handler(request, context("api"))
    return response["statusCode"], json.loads(response["body"])


def submit(api, texts: list[str]) -> str:
    status, body = api_request(api, "POST", "/jobs", {"texts": texts})
    assert status == 202 and body["status"] == "queued"
    return body["job_id"]


def receive(queue_url: str, max_messages: int = 10) -> list[dict]:
    return (
        boto3.client("sqs")
        .receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=max_messages,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        .get("Messages", [])
    )


def run_worker(worker, queue_url: str, messages: list[dict]) -> set[str]:
    """Invoke the worker with the messages as one SQS event; delete the successes; return failed ids."""
    sqs_batch = sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:jobs", "us-east-1")
    try:
        response = worker.lambda_handler(sqs_batch, context("worker"))
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    except BatchProcessingError:  # every record failed: the invocation fails and all messages return
        failed = {m["MessageId"] for m in messages}
    sqs = boto3.client("sqs")
    for m in messages:
        if m["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    return failed


def drain(queue_url: str) -> None:
    sqs = boto3.client("sqs")
    while messages := receive(queue_url):
        for m in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])


def s3_events(resources: Resources) -> list[dict]:
    """The S3 notifications the bucket sent (moto delivers them to the batch queue), test event skipped."""
    events = []
    while messages := receive(resources.batch_queue_url):
        for m in messages:
            boto3.client("sqs").delete_message(
                QueueUrl=resources.batch_queue_url, ReceiptHandle=m["ReceiptHandle"]
            )
            body = json.loads(m["Body"])
            if body.get("Event") != "s3:TestEvent":
                events.append(body)
    return events


def versioned_bucket(prefix: str) -> str:
    """A new versioned bucket on the moto stack, as the registry's and the data bucket are deployed."""
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def emf_lines(captured: str) -> list[dict]:
    """The EMF documents among captured log lines."""
    return [line for line in map(json.loads, filter(str.strip, captured.splitlines())) if "_aws" in line]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn_local_run(port: int, aws_port: int, **env: str) -> subprocess.Popen:
    """`python -m local_run` (what `make run` starts) on these ports; its output piped as text."""
    ports = {"PORT": str(port), "LOCAL_AWS_PORT": str(aws_port)}
    return subprocess.Popen(
        [sys.executable, "-m", "local_run"],
        cwd=REPO,
        env={**os.environ, **ports, "PYTHONUNBUFFERED": "1", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@dataclass
class LocalRun:
    url: str
    aws_endpoint: str
    process: subprocess.Popen
    output: list[str]


def _drain(stream, lines: list[str]) -> None:
    # Read the run's output as it comes: a full pipe would block the server mid-request.
    for line in stream:
        lines.append(line)


@contextmanager
def serving_local_run(**env: str) -> Iterator[LocalRun]:
    """The local run on free ports, once /health answers; stopped with Ctrl-C (SIGINT) afterwards."""
    port, aws_port = free_port(), free_port()
    process = spawn_local_run(port, aws_port, **env)
    output: list[str] = []
    reader = threading.Thread(target=_drain, args=(process.stdout, output), daemon=True)
    reader.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            assert process.poll() is None, "".join(output)
            try:
                if requests.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "local run did not come up in 60 s"
            time.sleep(0.3)
        yield LocalRun(url=url, aws_endpoint=f"http://127.0.0.1:{aws_port}", process=process, output=output)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        reader.join(timeout=10)
