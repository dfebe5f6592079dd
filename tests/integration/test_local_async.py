"""End to end on the local run: jobs over HTTP, CSV files through the local S3 endpoint."""

from __future__ import annotations

import csv
import io
import json
import time

import boto3
import requests

BUCKET = "imdb-sentiment-local"


def wait_for(check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)
    return result


def test_job_submitted_then_fetched(local_run):
    texts = ["Loved it: a beautiful, moving film.", "Awful. Dull, slow and badly acted."]
    response = requests.post(f"{local_run.url}/jobs", json={"texts": texts}, timeout=10)
    assert response.status_code == 202
    job_id = response.json()["job_id"]
    assert response.headers["location"] == f"/jobs/{job_id}"

    def done():
        body = requests.get(f"{local_run.url}/jobs/{job_id}", timeout=10).json()
        return body if body["status"] != "queued" else None

    body = wait_for(done)
    assert body["status"] == "done"
    assert [p["label"] for p in body["predictions"]] == ["positive", "negative"]
    assert requests.get(f"{local_run.url}/jobs/{job_id[::-1]}", timeout=10).status_code == 404


def test_csv_dropped_into_the_local_bucket_is_scored(local_run):
    s3 = boto3.client(
        "s3",
        endpoint_url=local_run.aws_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    data = b'id;review\r\n1;"Brilliant; I loved it"\r\n2;\r\n3;Terrible and boring\r\n'
    s3.put_object(Bucket=BUCKET, Key="incoming/team reviews.csv", Body=data)

    assert wait_for(lambda: _get_json(s3, "scored/team reviews.summary.json"))["rows"] == 3
    scored = s3.get_object(Bucket=BUCKET, Key="scored/team reviews.csv")["Body"].read().decode()
    rows = list(csv.DictReader(io.StringIO(scored, newline=""), delimiter=";"))
    assert [(r["id"], r["label"], r["error"]) for r in rows] == [
        ("1", "positive", ""),
        ("2", "", "empty text"),
        ("3", "negative", ""),
    ]

    s3.put_object(Bucket=BUCKET, Key="incoming/archive.csv", Body=b"\x1f\x8b\x08\x00 compressed")
    error = wait_for(lambda: _get_json(s3, "scored/archive.error.json"))
    assert "gzip" in error["error"]


def _get_json(s3, key: str) -> dict | None:
    try:
        return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None
