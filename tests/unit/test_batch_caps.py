"""The owner's caps on the fast path and in the fan-out's split (moto), and the fast path's hand-off."""

from __future__ import annotations

import gzip
import importlib
import json
import os
import time

import boto3
import pytest

from functions.batch.routing import Size, execution_name
from local_run.fanout import create_state_machine
from sentiment_core import settings
from sentiment_core.file_limits import Caps, Counting
from tests.helpers import context, s3_events
from tests.unit.test_file_limits import csv_text

IMDB_LIKE = "A long and thoughtful review of a film that had its moments, " * 20  # about 1,300 bytes


@pytest.fixture
def s3(aws):
    s3_events(aws)  # forget notifications of earlier tests
    return boto3.client("s3")


@pytest.fixture
def env():
    """Set variables for one test, as a deployment's parameters would; settings are read afresh."""
    saved = dict(os.environ)

    def set_env(**values: str) -> None:
        os.environ.update(values)
        settings.current.cache_clear()

    yield set_env
    os.environ.clear()
    os.environ.update(saved)
    settings.current.cache_clear()


@pytest.fixture(scope="module")
def machine(aws) -> str:
    sfn = boto3.client("stepfunctions")
    existing = [m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]]
    return existing[0] if existing else create_state_machine(sfn)


@pytest.fixture(scope="module")
def split(aws):
    return importlib.import_module("functions.fanout.split")


def upload(batch, aws, s3, key: str, data: bytes) -> tuple[str, float]:
    s3.put_object(Bucket=aws.bucket, Key=key, Body=data)
    (event,) = s3_events(aws)
    started = time.monotonic()
    (result,) = batch.lambda_handler(event, context("batch"))["results"]
    return result["status"], time.monotonic() - started


def read_json(s3, aws, key: str) -> dict | None:
    try:
        return json.loads(s3.get_object(Bucket=aws.bucket, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None


def file_event(aws, key: str) -> dict:
    sqs = boto3.client("sqs")
    while messages := sqs.receive_message(QueueUrl=aws.file_events_queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        for m in messages:
            sqs.delete_message(QueueUrl=aws.file_events_queue_url, ReceiptHandle=m["ReceiptHandle"])
            detail = json.loads(m["Body"])["detail"]
            if detail.get("key") == key:  # jobs' events share the bus
                return detail
    raise AssertionError(f"no event for {key}")


def executions(machine: str) -> list[dict]:
    sfn = boto3.client("stepfunctions")
    return [
        json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"]) | {"name": e["name"]}
        for e in sfn.list_executions(stateMachineArn=machine)["executions"]
    ]


def assert_rejected(s3, aws, stem: str, parameter: str) -> dict:
    status = read_json(s3, aws, f"scored/{stem}.status.json")
    error = read_json(s3, aws, f"scored/{stem}.error.json")
    assert status["state"] == "rejected" and status["limit"]["parameter"] == parameter, status
    assert error["limit"] == status["limit"] and parameter in error["error"]
    assert read_json(s3, aws, f"scored/{stem}.summary.json") is None
    assert "Contents" not in s3.list_objects_v2(Bucket=aws.bucket, Prefix=f"scored/{stem}.csv")
    event = file_event(aws, f"incoming/{stem}.csv.gz" if ".gz" in error["source"] else f"incoming/{stem}.csv")
    assert event["limit"] == status["limit"] and event["error"] == error["error"]
    return status["limit"]


def test_a_gzip_bomb_on_the_fast_path_is_rejected_in_seconds_with_its_reason(batch, aws, s3):
    bomb = gzip.compress(b"text\n" + b"a\n" * 30_000_000, 9)  # 60 MB of rows in tens of KB
    status, seconds = upload(batch, aws, s3, "incoming/bomb.csv.gz", bomb)
    assert status == "rejected" and seconds < 5
    limit = assert_rejected(s3, aws, "bomb", "MaxExpansionRatio")
    assert limit["found"] > 100 and limit["compressed_bytes"] == len(bomb)


def test_a_gzip_bomb_with_a_lying_trailer_is_measured_and_stopped_at_the_expansion_cap(batch, aws, s3):
    bomb = gzip.compress(b"text\n" + b"a\n" * 30_000_000, 9)
    status, seconds = upload(batch, aws, s3, "incoming/liar.csv.gz", bomb[:-4] + b"\0\0\0\0")  # "0 bytes"
    assert status == "rejected" and seconds < 5
    limit = assert_rejected(s3, aws, "liar", "MaxExpansionRatio")
    assert limit["at_least"] and limit["expanded_bytes"] <= 2 * 1024 * 1024  # stopped at the floor, not read


def test_rows_over_the_cap_on_the_fast_path_stop_the_file(batch, aws, s3, env):
    env(MAX_FILE_ROWS="1000")
    status, _ = upload(batch, aws, s3, "incoming/many.csv", b"text\n" + b"fine\n" * 5000)
    assert status == "rejected"
    limit = assert_rejected(s3, aws, "many", "MaxFileRows")
    assert limit["cap"] == 1000 and 1000 < limit["found"] <= 1512  # stopped within one batch of rows


def test_a_small_gzip_that_expands_past_fanout_min_bytes_is_handed_to_the_fanout(batch, aws, s3, machine):
    text = csv_text(40_000)
    packed = gzip.compress(text)
    assert len(packed) < settings.DEFAULT_FANOUT_MIN_BYTES <= len(text)
    status, seconds = upload(batch, aws, s3, "incoming/expands.csv.gz", packed)
    assert status == "handed off" and seconds < 5
    etag = s3.head_object(Bucket=aws.bucket, Key="incoming/expands.csv.gz")["ETag"]
    mine = [e for e in executions(machine) if e["key"] == "incoming/expands.csv.gz"]
    assert mine == [
        {
            "bucket": aws.bucket,
            "key": "incoming/expands.csv.gz",
            "name": execution_name({"key": "incoming/expands.csv.gz", "etag": etag}),
        }
    ]
    (event,) = s3_events(aws) or [None]  # no new upload: the same event delivered again
    assert event is None
    assert read_json(s3, aws, "scored/expands.summary.json") is None  # the fast path scored nothing


def test_a_repeated_hand_off_starts_one_execution(batch, aws, s3, machine):
    packed = gzip.compress(csv_text(40_000))
    s3.put_object(Bucket=aws.bucket, Key="incoming/twice.csv.gz", Body=packed)
    (event,) = s3_events(aws)
    for _ in range(2):
        (result,) = batch.lambda_handler(event, context("batch"))["results"]
        assert result["status"] == "handed off"
    assert len([e for e in executions(machine) if e["key"] == "incoming/twice.csv.gz"]) == 1


def test_a_multi_member_gzip_is_measured_again_and_routed_by_all_it_holds(batch, aws, s3, machine, env):
    env(FANOUT_MIN_BYTES="100000")
    text = csv_text(1500)
    half = len(text) // 2
    assert half < 100_000 <= len(text)
    packed = gzip.compress(text[:half]) + gzip.compress(text[half:])  # its trailer tells of one half
    status, _ = upload(batch, aws, s3, "incoming/members.csv.gz", packed)
    assert status == "handed off"
    assert [e["key"] for e in executions(machine) if e["key"] == "incoming/members.csv.gz"]


def test_a_multi_member_gzip_under_fanout_min_bytes_is_scored_whole(batch, aws, s3):
    text = csv_text(3000)
    packed = gzip.compress(text[:20_000]) + gzip.compress(text[20_000:])
    status, _ = upload(batch, aws, s3, "incoming/whole.csv.gz", packed)
    assert status == "scored"
    assert read_json(s3, aws, "scored/whole.summary.json")["rows"] == 3000


def test_the_fast_path_hands_off_a_file_the_rate_so_far_says_it_cannot_finish(batch, env, monkeypatch):
    env(FANOUT_STATE_MACHINE_ARN="arn:aws:states:us-east-1:123456789012:stateMachine:x")
    clock = [1000.0]  # the rate's clock stands still, so a busy machine cannot change the projection
    monkeypatch.setattr(batch.time, "monotonic", lambda: clock[0])
    read = Counting(None)
    progress = batch.Progress(context("batch", timeout_s=120), Caps(10**9, 10**9, 1, 100), read, Size(10**6))
    clock[0] += 1.0
    read.count = 100_000  # a tenth in a second: nine seconds to go, sixty left
    progress(512)
    read.count = 1000  # a thousandth in a second: about 1,000 s to go
    with pytest.raises(batch.HandOff, match="would take about 999 s"):
        progress(512)


def test_without_a_fanout_a_file_out_of_time_gets_a_clear_error(batch, aws, s3, env):
    env(FANOUT_STATE_MACHINE_ARN="")
    s3.put_object(Bucket=aws.bucket, Key="incoming/huge.csv", Body=("text\n" + "Loved it\n" * 2000).encode())
    (event,) = s3_events(aws)
    batch.lambda_handler(event, context("batch", timeout_s=60))  # under the reserve after the first chunk
    error = read_json(s3, aws, "scored/huge.error.json")["error"]
    assert "too large for one invocation" in error and "split it into files of at most" in error


def run_split(split, aws, key: str, run: str) -> dict:
    return split.lambda_handler(
        {"bucket": aws.bucket, "key": key, "run": run, "chunk_rows": 2000}, context("fanout-split")
    )


def work_files(s3, aws, run: str) -> list[str]:
    return [
        o["Key"] for o in s3.list_objects_v2(Bucket=aws.bucket, Prefix=f"fanout/{run}/").get("Contents", [])
    ]


def test_the_split_stops_at_the_row_cap_before_any_chunk(split, aws, s3, env):
    env(MAX_FILE_ROWS="1000")
    s3.put_object(Bucket=aws.bucket, Key="incoming/rows.csv", Body=b"text\n" + b"a\n" * 1_200_000)
    started = time.monotonic()
    plan = run_split(split, aws, "incoming/rows.csv", "rows-run")
    assert plan["rejected"] and time.monotonic() - started < 5
    assert work_files(s3, aws, "rows-run") == []  # no chunk list: the Map has nothing to score
    limit = assert_rejected(s3, aws, "rows", "MaxFileRows")
    assert limit["found"] == 1001


def test_a_gzip_over_the_row_cap_leaves_no_staged_copy(split, aws, s3, env):
    env(MAX_FILE_ROWS="1000")
    s3.put_object(Bucket=aws.bucket, Key="incoming/rowsgz.csv.gz", Body=gzip.compress(csv_text(3000)))
    plan = run_split(split, aws, "incoming/rowsgz.csv.gz", "rowsgz-run")
    assert plan["rejected"] and work_files(s3, aws, "rowsgz-run") == []
    assert_rejected(s3, aws, "rowsgz", "MaxFileRows")


def test_the_split_rejects_a_file_whose_estimate_passes_the_cost_cap(split, aws, s3, env):
    env(MAX_FILE_COST_USD="0.001")
    data = "id,text\n" + "".join(f"{i},{IMDB_LIKE}\n" for i in range(3000))
    s3.put_object(Bucket=aws.bucket, Key="incoming/costly.csv", Body=data.encode())
    plan = run_split(split, aws, "incoming/costly.csv", "cost-run")
    assert plan["rejected"] and work_files(s3, aws, "cost-run") == []
    limit = assert_rejected(s3, aws, "costly", "MaxFileCostUsd")
    assert limit["rows"] == 3000 and limit["found"] > 0.001 and limit["cap"] == 0.001


def test_the_split_stops_a_gzip_bomb_before_staging_it(split, aws, s3):
    bomb = gzip.compress(b"text\n" + b"a\n" * 30_000_000, 9)
    s3.put_object(Bucket=aws.bucket, Key="incoming/splitbomb.csv.gz", Body=bomb)
    started = time.monotonic()
    plan = run_split(split, aws, "incoming/splitbomb.csv.gz", "bomb-run")
    assert plan["rejected"] and time.monotonic() - started < 5
    assert work_files(s3, aws, "bomb-run") == []
    assert_rejected(s3, aws, "splitbomb", "MaxExpansionRatio")


def test_a_file_under_every_cap_is_split_with_its_estimate(split, aws, s3):
    s3.put_object(Bucket=aws.bucket, Key="incoming/fine.csv", Body=csv_text(4500))
    plan = run_split(split, aws, "incoming/fine.csv", "fine-run")
    assert not plan["rejected"] and plan["rows"] == 4500 and plan["chunks"] == 3
    status = read_json(s3, aws, "scored/fine.status.json")
    assert status["state"] == "scoring" and 0 < status["estimated_cost_usd"] < 0.01
