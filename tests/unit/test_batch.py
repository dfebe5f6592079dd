"""CSV files dropped into S3 (moto): the notification S3 sends, the batch handler, the outputs."""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
from pathlib import Path

import boto3
import pytest

from tests.helpers import context, s3_events

GOOD = "A wonderful film and I loved every minute."
BAD = "Dreadful and boring. Badly acted and far too long."


@pytest.fixture
def s3(aws):
    s3_events(aws)  # forget notifications of earlier tests
    return boto3.client("s3")


def upload_and_score(batch, aws, s3, key: str, data: bytes, **extra) -> list[dict]:
    s3.put_object(Bucket=aws.bucket, Key=key, Body=data, **extra)
    events = s3_events(aws)
    return [batch.lambda_handler(event, context("batch")) for event in events]


def read(s3, aws, key: str) -> bytes:
    return s3.get_object(Bucket=aws.bucket, Key=key)["Body"].read()


def scored_keys(s3, aws) -> set[str]:
    """The results, without status.json (progress, which vouches for nothing)."""
    listed = s3.list_objects_v2(Bucket=aws.bucket, Prefix="scored/").get("Contents", [])
    return {o["Key"] for o in listed if not o["Key"].endswith(".status.json")}


def test_10000_rows_with_quoted_newlines_bom_and_empty_texts_come_back_in_order(batch, aws, s3):
    rng = random.Random(7)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["id", "text", "stars"])
    empty = set(rng.sample(range(10_000), 100))
    for i in range(10_000):
        text = "" if i in empty else (f"Line one of {i}.\nLine two, {GOOD}" if i % 2 else f"{BAD} ({i})")
        writer.writerow([i, text, i % 10])
    (result,) = upload_and_score(
        batch, aws, s3, "incoming/big.csv", b"\xef\xbb\xbf" + buffer.getvalue().encode()
    )
    assert result["results"] == [{"key": "incoming/big.csv", "status": "scored"}]

    rows = list(csv.DictReader(io.StringIO(read(s3, aws, "scored/big.csv").decode("utf-8-sig"), newline="")))
    assert [int(r["id"]) for r in rows] == list(range(10_000))
    assert {i for i, r in enumerate(rows) if r["error"] == "empty text"} == empty
    assert all(
        r["label"] == ("positive" if i % 2 else "negative") for i, r in enumerate(rows) if i not in empty
    )
    assert rows[1]["text"].startswith("Line one of 1.\nLine two")
    summary = json.loads(read(s3, aws, "scored/big.summary.json"))
    assert summary["rows"] == 10_000 and summary["rows_with_errors"] == 100
    assert summary["positives"] + summary["negatives"] == 9_900
    assert summary["model"]["name"] == batch.model.name and summary["seconds"] > 0


def test_key_with_spaces_and_unicode(batch, aws, s3):
    key = "incoming/my reviews/été 2026 (final).csv"
    upload_and_score(batch, aws, s3, key, f"text\n{GOOD}\n".encode())
    assert "scored/my reviews/été 2026 (final).csv" in scored_keys(s3, aws)
    assert json.loads(read(s3, aws, "scored/my reviews/été 2026 (final).summary.json"))["scored"] == 1


def test_not_a_csv_produces_an_error_file(batch, aws, s3):
    (result,) = upload_and_score(batch, aws, s3, "incoming/photo.csv", bytes(range(256)) * 40)
    assert result["results"][0]["status"] == "rejected"
    error = json.loads(read(s3, aws, "scored/photo.error.json"))
    assert error["source"] == "incoming/photo.csv" and "binary" in error["error"]
    assert "scored/photo.csv" not in scored_keys(s3, aws)


def test_missing_text_column_produces_an_error_file(batch, aws, s3):
    upload_and_score(batch, aws, s3, "incoming/nocol.csv", b"id,comment\n1,great\n")
    assert "no text column" in json.loads(read(s3, aws, "scored/nocol.error.json"))["error"]


def test_text_column_from_object_metadata(batch, aws, s3):
    data = f"id,body,text\n1,{BAD},ignored\n".encode()
    upload_and_score(batch, aws, s3, "incoming/meta.csv", data, Metadata={"text-column": "body"})
    rows = list(csv.DictReader(io.StringIO(read(s3, aws, "scored/meta.csv").decode())))
    assert rows[0]["label"] == "negative"


def test_reupload_overwrites_and_clears_a_stale_error(batch, aws, s3):
    upload_and_score(batch, aws, s3, "incoming/again.csv", b"id,comment\n1,x\n")
    assert "scored/again.error.json" in scored_keys(s3, aws)
    for _ in range(2):
        upload_and_score(batch, aws, s3, "incoming/again.csv", f"text\n{GOOD}\n{BAD}\n".encode())
    assert {k for k in scored_keys(s3, aws) if "again" in k} == {
        "scored/again.csv",
        "scored/again.report.html",
        "scored/again.summary.json",
    }
    assert len(list(csv.reader(io.StringIO(read(s3, aws, "scored/again.csv").decode())))) == 3


def test_every_record_of_an_event_is_handled(batch, aws, s3):
    for name in ("a", "b"):
        s3.put_object(Bucket=aws.bucket, Key=f"incoming/multi-{name}.csv", Body=f"text\n{GOOD}\n".encode())
    records = [record for event in s3_events(aws) for record in event["Records"]]
    result = batch.lambda_handler({"Records": records}, context("batch"))
    assert [r["status"] for r in result["results"]] == ["scored", "scored"]
    assert {"scored/multi-a.csv", "scored/multi-b.csv"} <= scored_keys(s3, aws)


def test_only_csv_under_incoming_is_scored(batch, aws, s3):
    event = {
        "Records": [{"s3": {"bucket": {"name": aws.bucket}, "object": {"key": "scored/x.csv", "size": 1}}}]
    }
    assert batch.lambda_handler(event, context("batch"))["results"][0]["status"] == "ignored"


def test_failed_upload_fails_the_invocation_and_the_retry_writes_one_complete_output(
    batch, aws, s3, monkeypatch
):
    data = f"text\n{GOOD}\n{BAD}\n".encode()
    s3.put_object(Bucket=aws.bucket, Key="incoming/flaky.csv", Body=data)
    (event,) = s3_events(aws)
    real_upload = batch.s3.upload_fileobj
    calls = {"n": 0}

    def flaky_upload(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise boto3.exceptions.S3UploadFailedError("simulated S3 outage")
        return real_upload(*args, **kwargs)

    monkeypatch.setattr(batch.s3, "upload_fileobj", flaky_upload)
    with pytest.raises(boto3.exceptions.S3UploadFailedError):
        batch.lambda_handler(event, context("batch"))  # Lambda retries a failed async invocation
    assert not {k for k in scored_keys(s3, aws) if "flaky" in k}  # nothing that looks complete
    batch.lambda_handler(event, context("batch"))
    assert {k for k in scored_keys(s3, aws) if "flaky" in k} == {
        "scored/flaky.csv",
        "scored/flaky.report.html",
        "scored/flaky.summary.json",
    }
    assert len(read(s3, aws, "scored/flaky.csv").decode().splitlines()) == 3


def test_batch_answers_the_event_file(batch, aws, s3):
    event = json.loads((Path(__file__).resolve().parents[2] / "events" / "batch_s3_put.json").read_text())
    assert event["Records"][0]["s3"]["object"]["key"] == "incoming/my+reviews.csv"  # as S3 encodes a space
    s3.put_object(Bucket=aws.bucket, Key="incoming/my reviews.csv", Body=f"text\n{GOOD}\n".encode())
    s3_events(aws)
    assert batch.lambda_handler(event, context("batch"))["results"][0]["status"] == "scored"
    assert "scored/my reviews.csv" in scored_keys(s3, aws)


def test_batch_answers_the_eventbridge_event_file_with_its_key_encoded_or_not(batch, aws, s3):
    event = json.loads(
        (Path(__file__).resolve().parents[2] / "events" / "batch_eventbridge_object_created.json").read_text()
    )
    key = "incoming/my reviews (EventBridge).csv"
    s3.put_object(Bucket=aws.bucket, Key=key, Body=f"text\n{GOOD}\n".encode())
    s3_events(aws)
    assert batch.lambda_handler(event, context("batch"))["results"] == [{"key": key, "status": "scored"}]
    event["detail"]["object"]["key"] = key  # as given, when EventBridge passes it undecoded
    assert batch.lambda_handler(event, context("batch"))["results"] == [{"key": key, "status": "scored"}]
    assert "scored/my reviews (EventBridge).summary.json" in scored_keys(s3, aws)


def test_a_small_gzipped_csv_is_scored_and_a_broken_one_rejected(batch, aws, s3):
    upload_and_score(
        batch, aws, s3, "incoming/packed.csv.gz", gzip.compress(f"text\n{GOOD}\n{BAD}\n".encode())
    )
    rows = list(csv.DictReader(io.StringIO(read(s3, aws, "scored/packed.csv").decode())))
    assert [r["label"] for r in rows] == ["positive", "negative"]
    (result,) = upload_and_score(batch, aws, s3, "incoming/torn.csv.gz", gzip.compress(b"text\nfine\n")[:-12])
    assert result["results"][0]["status"] == "rejected"
    assert "not valid gzip" in json.loads(read(s3, aws, "scored/torn.error.json"))["error"]
    assert "scored/torn.csv" not in scored_keys(s3, aws)


def test_status_and_event_follow_the_file_as_on_the_fanout(batch, aws, s3):
    events = boto3.client("sqs")
    drain = lambda: [  # noqa: E731
        json.loads(m["Body"])
        for m in events.receive_message(QueueUrl=aws.file_events_queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
    ]
    while drain():
        pass
    upload_and_score(batch, aws, s3, "incoming/followed.csv", f"text\n{GOOD}\n{BAD}\n\n".encode())
    status = json.loads(read(s3, aws, "scored/followed.status.json"))
    assert {k: status[k] for k in ("state", "rows_total", "rows_done", "chunks_total", "chunks_done")} == {
        "state": "done",
        "rows_total": 3,
        "rows_done": 3,
        "chunks_total": 1,
        "chunks_done": 1,
    }
    summary = json.loads(read(s3, aws, "scored/followed.summary.json"))
    assert status["cost_usd"] == summary["cost_usd"] >= 0 and isinstance(summary["cost_usd"], float)
    (event,) = [e for e in drain() if e["detail"]["key"] == "incoming/followed.csv"]
    assert event["detail-type"] == "Batch file scored"
    assert (event["detail"]["rows"], event["detail"]["scored"], event["detail"]["rows_with_errors"]) == (
        3,
        2,
        1,
    )


def test_an_upload_overtaken_by_a_new_one_writes_nothing_and_the_new_one_is_scored(
    batch, aws, s3, monkeypatch
):
    s3.put_object(Bucket=aws.bucket, Key="incoming/race.csv", Body=f"text\n{GOOD}\n".encode())
    (old_event,) = s3_events(aws)
    original = batch.score_csv

    def score_then_reupload(*args, **kwargs):
        s3.put_object(Bucket=aws.bucket, Key="incoming/race.csv", Body=f"text\n{BAD}\n{GOOD}\n".encode())
        return original(*args, **kwargs)

    monkeypatch.setattr(batch, "score_csv", score_then_reupload)
    (result,) = batch.lambda_handler(old_event, context("batch"))["results"]
    assert result["status"] == "superseded"
    assert {k for k in scored_keys(s3, aws) if "race" in k} == set()
    monkeypatch.setattr(batch, "score_csv", original)
    (new_event,) = s3_events(aws)
    batch.lambda_handler(new_event, context("batch"))
    assert json.loads(read(s3, aws, "scored/race.summary.json"))["rows"] == 2


def test_the_report_and_its_figures_beside_the_scored_csv(batch, aws, s3):
    rows = "".join(
        f"{i},Film <{i % 3}>,2026-01-{1 + i % 9:02d},{GOOD if i % 2 else BAD}\n" for i in range(30)
    )
    data = f"id,film,date,text\n{rows}31,Film <1>,2026-01-02,{GOOD},surplus\n".encode()
    upload_and_score(batch, aws, s3, "incoming/films.csv", data, Metadata={"group-column": "film"})
    summary = json.loads(read(s3, aws, "scored/films.summary.json"))
    figures = summary["figures"]
    assert summary["report"] == "scored/films.report.html"
    assert (figures["rows"], figures["scored"], figures["positive"]["positives"]) == (31, 30, 15)
    assert figures["errors"] == {"more fields than the header (joined)": 1}
    assert figures["group"]["source"] == "named"
    assert {g["value"]: g["rows"] for g in figures["group"]["groups"]} == {
        "Film <0>": 10,
        "Film <1>": 11,
        "Film <2>": 10,
    }
    assert figures["timeline"]["column"] == "date" and figures["cost_usd"] == summary["cost_usd"]
    report = s3.get_object(Bucket=aws.bucket, Key="scored/films.report.html")
    page = report["Body"].read().decode()
    assert report["ContentType"] == "text/html; charset=utf-8" and "Content-Security-Policy" in page
    assert "Film &lt;1&gt;" in page and "<script" not in page
    table = list(csv.reader(io.StringIO(read(s3, aws, "scored/films.csv").decode(), newline="")))
    assert all(len(row) == 7 for row in table) and table[-1][3] == f"{GOOD},surplus"
