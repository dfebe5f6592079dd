"""The local run's execution environments keep each function's template Timeout, as Lambda does."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from local_run.functions import TIMED_OUT, FunctionError, FunctionPool
from local_run.pollers import UploadRouter
from local_run.resources import async_retries, function_timeout
from local_run.stack_template import deployed


@pytest.fixture(scope="module")
def pool():
    functions = FunctionPool("timed", "tests.unit.timed_handler", 1, {}, timeout_s=2)
    functions.warm()
    yield functions
    functions.stop()


def test_the_context_counts_down_from_the_functions_timeout(pool):
    answer = pool({})
    assert 1500 < answer["remaining_ms"] <= 2000


def test_a_runaway_invocation_is_stopped_at_the_timeout_and_its_worker_replaced(pool):
    first = pool({})["pid"]
    started = time.monotonic()
    with pytest.raises(FunctionError) as caught:
        pool({"sleep_s": 60})
    assert 2 <= time.monotonic() - started < 5  # the timeout, not the minute the handler wanted
    assert caught.value.error_type == TIMED_OUT and "timed out after 2.00 seconds" in str(caught.value)
    assert pool({})["pid"] != first  # a fresh environment serves the next invocation


def test_each_local_function_gets_its_template_timeout():
    resources = deployed()["Resources"]
    assert function_timeout("batch") == resources["BatchFunction"]["Properties"]["Timeout"] == 900
    api = resources["ApiFunction"]["Properties"]["Timeout"]
    assert function_timeout("api") == float(deployed()["Parameters"][api["Ref"]]["Default"])


def test_a_batch_invocation_that_fails_is_not_retried_and_its_event_lands_in_the_failure_queue(aws):
    calls: list[dict] = []

    def batch(event: dict, context: object) -> dict:
        calls.append(event)
        raise FunctionError(TIMED_OUT, "Task timed out after 900.00 seconds")

    failures = aws.queue_urls["BatchFailureQueue"]
    router = UploadRouter(aws.uploads_queue_url, "", batch, {}, async_retries("BatchFunction"), failures)
    event = {"detail": {"object": {"key": "incoming/slow.csv"}}}
    router._invoke_batch(event)
    assert calls == [event]  # once: a timeout is not paid for twice
    (message,) = boto3.client("sqs").receive_message(QueueUrl=failures, MaxNumberOfMessages=10)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestPayload"] == event and record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responsePayload"]["errorType"] == TIMED_OUT
