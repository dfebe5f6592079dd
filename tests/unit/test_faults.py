"""Faults injected into AWS calls (moto) and into the model artifact: the service fails loudly,
retries, and ends with exactly one complete result or a clear failure, never a half-written one.

Faults are injected at botocore's `before-call` hook, so the code sees exactly the ClientError an
AWS outage gives it after botocore's own retries are spent.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.helpers import api_request, context, drain, receive, run_worker, s3_events

REPO = Path(__file__).resolve().parents[2]
GOOD = "A wonderful film and I loved every minute."
BAD = "Dreadful and boring. Badly acted and far too long."


class _Response:
    status_code = 500


@contextlib.contextmanager
def failing(
    client, operation: str, times: int = 1, when: Callable[[dict], bool] = lambda params: True
) -> Iterator[list[dict]]:
    """Make the next `times` calls of `operation` whose parameters match `when` fail with a 500."""
    failed: list[dict] = []
    service = client.meta.service_model.service_id.hyphenize()

    def remember(params: dict, context: dict, **_) -> None:
        context["fault_params"] = dict(params)

    def fail(context: dict, **_) -> tuple | None:
        params = context.get("fault_params", {})
        if len(failed) < times and when(params):
            failed.append(params)
            error = {"Code": "InternalError", "Message": "injected fault"}
            return _Response(), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 500}}
        return None

    hooks = [
        (f"before-parameter-build.{service}.{operation}", remember),
        (f"before-call.{service}.{operation}", fail),
    ]
    for event, hook in hooks:
        client.meta.events.register(event, hook, unique_id=f"fault-{event}")
    try:
        yield failed
    finally:
        for event, _ in hooks:
            client.meta.events.unregister(event, unique_id=f"fault-{event}")


# ---------------------------------------------------------------- batch: S3 writes fail


@pytest.fixture
def s3(aws):
    s3_events(aws)
    return boto3.client("s3")


def scored_outputs(s3, aws, stem: str) -> set[str]:
    """The results: status.json reports progress (and the failure) on the way, and vouches for nothing."""
    listed = s3.list_objects_v2(Bucket=aws.bucket, Prefix=f"scored/{stem}.").get("Contents", [])
    return {o["Key"] for o in listed if not o["Key"].endswith(".status.json")}


def csv_rows(s3, aws, key: str) -> list[dict]:
    data = s3.get_object(Bucket=aws.bucket, Key=key)["Body"].read().decode()
    return list(csv.DictReader(io.StringIO(data, newline="")))


def summary(s3, aws, stem: str) -> dict:
    return json.loads(s3.get_object(Bucket=aws.bucket, Key=f"scored/{stem}.summary.json")["Body"].read())


def put_and_take_event(s3, aws, key: str, data: bytes) -> dict:
    s3.put_object(Bucket=aws.bucket, Key=key, Body=data)
    (event,) = s3_events(aws)
    return event


def test_scored_csv_upload_fails_once_then_the_retry_writes_one_complete_output(batch, aws, s3):
    rows = "".join(f"{i},{GOOD if i % 2 else BAD}\n" for i in range(40))
    event = put_and_take_event(s3, aws, "incoming/outage.csv", f"id,text\n{rows}".encode())
    scored_csv = lambda params: params["Key"] == "scored/outage.csv"  # noqa: E731
    with (
        failing(batch.s3, "PutObject", when=scored_csv) as failed,
        pytest.raises(Exception, match="injected"),
    ):
        batch.lambda_handler(event, context("batch"))  # fails: its event goes to BatchFailureQueue
    assert len(failed) == 1
    assert scored_outputs(s3, aws, "outage") == set()  # nothing written, nothing that looks complete

    batch.lambda_handler(event, context("batch"))  # the re-drive of that event
    assert scored_outputs(s3, aws, "outage") == {
        "scored/outage.csv",
        "scored/outage.report.html",
        "scored/outage.summary.json",
    }
    out = csv_rows(s3, aws, "scored/outage.csv")
    assert [int(r["id"]) for r in out] == list(range(40))  # exactly one copy of every row
    assert all(r["label"] == ("positive" if int(r["id"]) % 2 else "negative") for r in out)
    assert summary(s3, aws, "outage")["rows"] == 40


def test_summary_write_fails_after_a_reupload_then_no_stale_summary_vouches_for_the_new_csv(batch, aws, s3):
    key = "incoming/monthly.csv"
    batch.lambda_handler(put_and_take_event(s3, aws, key, f"text\n{GOOD}\n".encode()), context("batch"))
    assert summary(s3, aws, "monthly")["rows"] == 1

    event = put_and_take_event(s3, aws, key, f"text\n{GOOD}\n{BAD}\n{GOOD}\n".encode())
    is_summary = lambda params: params["Key"].endswith(".summary.json")  # noqa: E731
    with failing(batch.s3, "PutObject", when=is_summary), pytest.raises(ClientError, match="injected"):
        batch.lambda_handler(event, context("batch"))
    # The new CSV and report are there, but no summary: readers wait (the summary is the completeness marker).
    assert scored_outputs(s3, aws, "monthly") == {"scored/monthly.csv", "scored/monthly.report.html"}

    batch.lambda_handler(event, context("batch"))
    assert summary(s3, aws, "monthly")["rows"] == 3 == len(csv_rows(s3, aws, "scored/monthly.csv"))


def test_reading_the_incoming_file_fails_then_the_retry_scores_it(batch, aws, s3):
    event = put_and_take_event(s3, aws, "incoming/unreadable.csv", f"text\n{GOOD}\n".encode())
    with failing(batch.s3, "GetObject"), pytest.raises(ClientError):
        batch.lambda_handler(event, context("batch"))
    assert scored_outputs(s3, aws, "unreadable") == set()
    batch.lambda_handler(event, context("batch"))
    assert summary(s3, aws, "unreadable")["scored"] == 1


# ---------------------------------------------------------------- jobs: processing raises


def submit(api, texts: list[str]) -> str:
    status, body = api_request(api, "POST", "/jobs", {"texts": texts})
    assert status == 202
    return body["job_id"]


@pytest.fixture
def queues(aws):
    drain(aws.jobs_queue_url)
    drain(aws.jobs_dlq_url)
    yield aws
    drain(aws.jobs_queue_url)
    drain(aws.jobs_dlq_url)


def test_job_whose_request_cannot_be_read_retries_then_dead_letters_and_batch_mates_finish(
    api, worker, queues
):
    aws = queues
    first, doomed, last = submit(api, [GOOD]), submit(api, [BAD, GOOD]), submit(api, [BAD])
    s3_client = worker.store._s3
    doomed_key = f"jobs/{doomed}/request.json"
    for attempt in (1, 2, 3):
        messages = receive(aws.jobs_queue_url)
        with failing(s3_client, "GetObject", times=99, when=lambda p: p["Key"] == doomed_key):
            failed = run_worker(worker, aws.jobs_queue_url, messages)  # one SQS event, 3 then 1 records
        assert [json.loads(m["Body"])["job_id"] for m in messages if m["MessageId"] in failed] == [doomed]
        assert api_request(api, "GET", f"/jobs/{doomed}")[1]["status"] == (
            "failed" if attempt == 3 else "queued"
        )
    _, body = api_request(api, "GET", f"/jobs/{doomed}")
    assert body["reason"] == "scoring failed after 3 attempts (ClientError)"
    assert "injected" not in body["reason"] and "jobs/" not in body["reason"]  # no internals echoed
    assert receive(aws.jobs_queue_url) == []
    (dead,) = receive(aws.jobs_dlq_url)
    assert json.loads(dead["Body"])["job_id"] == doomed
    for job_id, label in ((first, "positive"), (last, "negative")):
        status, body = api_request(api, "GET", f"/jobs/{job_id}")
        assert status == 200 and body["status"] == "done" and body["predictions"][0]["label"] == label


def test_status_update_fails_once_then_the_redelivery_completes_the_job(api, worker, queues):
    aws = queues
    job_id = submit(api, [GOOD, BAD])
    table_client = worker.store.dynamodb
    with failing(table_client, "UpdateItem") as failed:
        assert len(run_worker(worker, aws.jobs_queue_url, receive(aws.jobs_queue_url))) == 1
    assert len(failed) == 1
    assert (
        api_request(api, "GET", f"/jobs/{job_id}")[1]["status"] == "queued"
    )  # not failed: it will be retried
    assert run_worker(worker, aws.jobs_queue_url, receive(aws.jobs_queue_url)) == set()
    _, body = api_request(api, "GET", f"/jobs/{job_id}")
    assert body["status"] == "done" and [p["label"] for p in body["predictions"]] == ["positive", "negative"]
    assert receive(aws.jobs_dlq_url) == []


def test_queue_send_fails_then_the_job_is_marked_failed_not_left_queued(api, queues):
    from functions.api import jobs

    table = boto3.resource("dynamodb").Table(jobs.store().table_name)
    before = {i["job_id"] for i in table.scan()["Items"]}
    with failing(jobs.store()._sqs, "SendMessage"):
        status, body = api_request(api, "POST", "/jobs", {"texts": [GOOD]})
    assert status == 500 and body["error"] == "internal error" and "injected" not in json.dumps(body)
    assert receive(queues.jobs_queue_url) == []
    (new,) = [i for i in table.scan()["Items"] if i["job_id"] not in before]
    assert (new["status"], new["reason"]) == ("failed", "the job could not be queued; submit it again")
