"""The local run as a new user meets it: a CSV scored in parallel chunks while the API stays quick,
and a gateway that takes many clients at once."""

from __future__ import annotations

import csv
import io
import json
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import requests

BUCKET = "imdb-sentiment-local"


def _client(local_run, service: str):
    return boto3.client(
        service,
        endpoint_url=local_run.aws_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def _reviews(n: int) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["id", "review"])
    for i in range(n):
        opinion = "a warm, funny and moving film" if i % 2 else "a dull, slow and badly acted mess"
        writer.writerow([i, f"Review {i}: {opinion}, with a plot that goes on for a while."])
    return buffer.getvalue().encode()


def _status(s3, key: str) -> dict:
    try:
        return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return {}


def test_predict_answers_within_a_second_while_a_file_scores_in_chunks(local_run):
    s3, sqs = _client(local_run, "s3"), _client(local_run, "sqs")
    events_queue = sqs.get_queue_url(QueueName="imdb-sentiment-file-events")["QueueUrl"]
    s3.put_object(
        Bucket=BUCKET, Key="incoming/busy.csv", Body=_reviews(2500)
    )  # 2 chunks of the template's 2,000
    latencies, states = [], []
    deadline = time.monotonic() + 240
    while (status := _status(s3, "scored/busy.status.json")).get("state") not in ("done", "failed"):
        assert time.monotonic() < deadline, status
        states.append(status.get("state"))
        started = time.monotonic()
        response = requests.post(f"{local_run.url}/predict", json={"text": "Loved it."}, timeout=30)
        latencies.append(time.monotonic() - started)
        assert response.status_code == 200
        time.sleep(0.2)
    assert status["state"] == "done" and status["rows_done"] == 2500 and status["chunks_total"] == 2
    assert "scoring" in states and len(latencies) >= 5
    assert max(latencies) < 1.0, latencies
    summary = json.loads(s3.get_object(Bucket=BUCKET, Key="scored/busy.summary.json")["Body"].read())
    assert summary["rows"] == summary["scored"] == 2500
    details: list[dict] = []  # other files' and jobs' events may come first
    while not any(d.get("key") == "incoming/busy.csv" for d in details):
        assert time.monotonic() < deadline, details
        messages = sqs.receive_message(QueueUrl=events_queue, WaitTimeSeconds=1, MaxNumberOfMessages=10)
        details += [json.loads(m["Body"])["detail"] for m in messages.get("Messages", [])]
    (event,) = [d for d in details if d.get("key") == "incoming/busy.csv"]
    assert event["rows"] == 2500 and event["outputs"]["csv"] == "scored/busy.csv"


def test_100_concurrent_clients_get_no_connection_errors(local_run):
    def client(_: int) -> list[int]:
        with requests.Session() as session:
            return [
                session.post(f"{local_run.url}/predict", json={"text": "Great fun."}, timeout=60).status_code
                for _ in range(3)
            ]

    with ThreadPoolExecutor(100) as pool:
        statuses = [s for result in pool.map(client, range(100)) for s in result]
    assert statuses == [200] * 300
