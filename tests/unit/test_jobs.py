"""Async jobs on moto: API -> SQS -> worker -> DynamoDB/S3, failures, DLQ and idempotency."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.helpers import api_request, context, drain, load_event, receive, run_worker, submit

TEXTS = ["A wonderful, moving film. I loved it.", "Boring and badly acted. A waste of time.", "Great fun!"]


@pytest.fixture(autouse=True)
def empty_queues(aws):
    drain(aws.jobs_queue_url)
    drain(aws.jobs_dlq_url)


def test_job_goes_from_queued_to_done(api, worker, aws):
    job_id = submit(api, TEXTS)
    assert api_request(api, "GET", f"/jobs/{job_id}") == (200, {"job_id": job_id, "status": "queued"})
    messages = receive(aws.jobs_queue_url)
    assert [json.loads(m["Body"])["job_id"] for m in messages] == [job_id]
    assert run_worker(worker, aws.jobs_queue_url, messages) == set()
    status, body = api_request(api, "GET", f"/jobs/{job_id}")
    assert status == 200 and body["status"] == "done"
    assert [p["label"] for p in body["predictions"]] == ["positive", "negative", "positive"]
    assert body["model"]["name"] == api.model.name


def test_unknown_job_is_404(api):
    for job_id in ("00000000-0000-4000-8000-000000000000", "not-a-uuid"):
        status, body = api_request(api, "GET", f"/jobs/{job_id}")
        assert status == 404 and job_id in body["error"]


@pytest.mark.parametrize(
    "payload,problem",
    [
        ({"texts": ["ok"] * 1001}, "at most 1000 items"),
        ({"texts": ["ok", ""]}, "at least 1 character"),
        ({"text": "x" * 20_001}, "at most 20000 characters"),
    ],
)
def test_job_requests_follow_the_predict_rules(api, payload, problem):
    status, body = api_request(api, "POST", "/jobs", payload)
    assert status == 422 and any(problem in d["problem"] for d in body["details"])


def test_a_job_of_1000_texts_is_accepted(api, worker, aws):
    job_id = submit(api, ["Loved it."] * 1000)
    run_worker(worker, aws.jobs_queue_url, receive(aws.jobs_queue_url))
    _, body = api_request(api, "GET", f"/jobs/{job_id}")
    assert body["status"] == "done" and len(body["predictions"]) == 1000


def test_poison_message_goes_to_dlq_and_batch_mates_succeed(api, worker, aws):
    good = submit(api, TEXTS[:1])
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=aws.jobs_queue_url, MessageBody="{not json")
    for _ in range(3):  # the redrive policy's maxReceiveCount
        messages = receive(aws.jobs_queue_url)
        failed = run_worker(worker, aws.jobs_queue_url, messages)
        assert len(failed) == 1
    assert receive(aws.jobs_queue_url) == []
    (dead,) = receive(aws.jobs_dlq_url)
    assert dead["Body"] == "{not json"
    assert api_request(api, "GET", f"/jobs/{good}")[1]["status"] == "done"


def test_failing_job_retries_then_is_marked_failed(api, worker, aws, monkeypatch):
    bad, good = submit(api, ["this one breaks"]), submit(api, TEXTS[1:2])
    real_predict = worker.model.predict
    monkeypatch.setattr(
        worker.model,
        "predict",
        lambda texts: (
            (_ for _ in ()).throw(RuntimeError("boom"))
            if texts == ["this one breaks"]
            else real_predict(texts)
        ),
    )
    for attempt in range(1, 4):
        messages = receive(aws.jobs_queue_url)
        failed = run_worker(worker, aws.jobs_queue_url, messages)
        assert len(failed) == 1
        expected = "failed" if attempt == 3 else "queued"
        assert api_request(api, "GET", f"/jobs/{bad}")[1]["status"] == expected
    _, body = api_request(api, "GET", f"/jobs/{bad}")
    assert body["reason"] == "scoring failed after 3 attempts (RuntimeError)"
    assert receive(aws.jobs_queue_url) == []  # a 4th receive finds it moved to the DLQ
    assert json.loads(receive(aws.jobs_dlq_url)[0]["Body"])["job_id"] == bad
    assert api_request(api, "GET", f"/jobs/{good}")[1]["status"] == "done"


def test_redelivery_does_not_score_or_write_twice(api, worker, aws, monkeypatch):
    job_id = submit(api, TEXTS)
    (message,) = receive(aws.jobs_queue_url)
    calls = {"predict": 0, "complete": 0}
    real_predict, real_complete = worker.model.predict, worker.store.complete

    def counting_predict(texts):
        calls["predict"] += 1
        return real_predict(texts)

    def counting_complete(*args):
        calls["complete"] += 1
        return real_complete(*args)

    monkeypatch.setattr(worker.model, "predict", counting_predict)
    monkeypatch.setattr(worker.store, "complete", counting_complete)
    run_worker(worker, aws.jobs_queue_url, [message])
    run_worker(worker, aws.jobs_queue_url, [message])  # SQS at-least-once: the same message again
    assert calls == {"predict": 1, "complete": 1}
    assert api_request(api, "GET", f"/jobs/{job_id}")[1]["status"] == "done"


def test_worker_answers_the_event_file(api, worker):
    event = load_event("worker_job.json")
    job_id = json.loads(event["Records"][0]["body"])["job_id"]
    store = worker.store
    store._s3.put_object(
        Bucket=store.bucket, Key=store.request_key(job_id), Body=json.dumps({"texts": TEXTS})
    )
    boto3.resource("dynamodb").Table(store.table_name).put_item(
        Item={"job_id": job_id, "status": "queued", "texts": 3, "created_at": 0}
    )
    assert worker.lambda_handler(event, context("worker")) == {"batchItemFailures": []}
    assert api_request(api, "GET", f"/jobs/{job_id}")[1]["status"] == "done"
