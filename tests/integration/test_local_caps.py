"""The owner's caps on the local stack, as a new user meets them: a file over a cap is rejected in
seconds with its reason, before any chunk is scored, and the next file is scored as usual."""

from __future__ import annotations

import gzip
import json
import os
import time

import boto3
import pytest

from functions.batch.routing import execution_name
from local_run.resources import parameter_default
from tests.helpers import serving_local_run

BUCKET = "imdb-sentiment-local"
COST_CAP = 0.002  # a few thousand IMDB-length rows; every other cap at its default
IMDB_LIKE = "A long and thoughtful review of a film that had its moments, " * 20  # about 1,300 bytes


@pytest.fixture(scope="module")
def stack():
    env = {"MAX_FILE_COST_USD": str(COST_CAP), "LOCAL_CONCURRENCY": "api=1,fanout-score=2"}
    with serving_local_run(**env) as run:
        clients = {
            service: boto3.client(
                service,
                endpoint_url=run.aws_endpoint,
                region_name="us-east-1",
                aws_access_key_id="local",
                aws_secret_access_key="local",
            )
            for service in ("s3", "sqs", "stepfunctions")
        }
        yield run, clients


def read_json(s3, key: str) -> dict:
    try:
        return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return {}


def finished(s3, stem: str, within_s: float) -> tuple[dict, float]:
    """status.json once the file is done, failed or rejected, and the seconds from now it took."""
    started = time.monotonic()
    while (status := read_json(s3, f"scored/{stem}.status.json")).get("state") not in (
        "done",
        "failed",
        "rejected",
    ):
        assert time.monotonic() - started < within_s, status
        time.sleep(0.1)
    return status, time.monotonic() - started


def put(s3, key: str, data: bytes) -> None:
    s3.delete_object(Bucket=BUCKET, Key=f"scored/{key.removeprefix('incoming/').split('.')[0]}.status.json")
    s3.put_object(Bucket=BUCKET, Key=key, Body=data)


def assert_rejected(s3, stem: str, status: dict, parameter: str) -> None:
    assert status["state"] == "rejected" and status["limit"]["parameter"] == parameter, status
    error = read_json(s3, f"scored/{stem}.error.json")
    assert error["limit"] == status["limit"] and parameter in error["error"]
    assert not read_json(s3, f"scored/{stem}.summary.json")


def work_files(s3) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="fanout/").get("Contents", [])]


def a_normal_file_is_scored_as_usual(s3, stem: str) -> None:
    put(s3, f"incoming/{stem}.csv", b"id,review\n1,Loved every minute of it.\n2,Dull and far too long.\n")
    status, _ = finished(s3, stem, within_s=60)
    assert status["state"] == "done" and status["rows_done"] == 2


def test_a_gzip_bomb_is_rejected_in_seconds_and_no_chunk_is_scored(stack):
    _, aws = stack
    s3 = aws["s3"]
    bomb = gzip.compress(b"text\n" + b"a\n" * 30_000_000, 9)  # 60 MB of one-character rows
    assert len(bomb) < int(parameter_default({"Ref": "FanoutMinBytes"}))  # the fast path's, by its size
    put(s3, "incoming/bomb.csv.gz", bomb)
    status, seconds = finished(s3, "bomb", within_s=30)
    assert_rejected(s3, "bomb", status, "MaxExpansionRatio")
    assert seconds < 10 and status["limit"]["found"] > 100
    assert not [k for k in work_files(s3) if k.endswith(".csv")]  # no chunk scored, nothing staged
    a_normal_file_is_scored_as_usual(s3, "after-bomb")


def test_many_tiny_rows_over_the_row_cap_are_rejected_before_the_map_starts(stack):
    _, aws = stack
    s3, sfn = aws["s3"], aws["stepfunctions"]
    rows = int(parameter_default({"Ref": "MaxFileRows"})) + 200_000
    put(s3, "incoming/tiny.csv", b"text\n" + b"a\n" * rows)  # 2.4 MB: the fan-out's, by its size
    status, seconds = finished(s3, "tiny", within_s=120)
    assert_rejected(s3, "tiny", status, "MaxFileRows")
    assert status["limit"]["found"] == status["limit"]["cap"] + 1 and seconds < 60
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    (execution,) = [
        e
        for e in sfn.list_executions(stateMachineArn=machine)["executions"]
        if json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"])["key"]
        == "incoming/tiny.csv"
    ]
    assert sfn.list_map_runs(executionArn=execution["executionArn"])["mapRuns"] == []  # the Map never started
    a_normal_file_is_scored_as_usual(s3, "after-tiny")


def test_a_file_whose_estimate_passes_the_cost_cap_is_rejected_with_the_estimate(stack):
    _, aws = stack
    s3 = aws["s3"]
    data = "id,review\n" + "".join(f"{i},{IMDB_LIKE}\n" for i in range(6000))
    put(s3, "incoming/costly.csv", data.encode())
    status, _ = finished(s3, "costly", within_s=120)
    assert_rejected(s3, "costly", status, "MaxFileCostUsd")
    assert status["limit"]["found"] > COST_CAP == status["limit"]["cap"] and status["limit"]["rows"] == 6000
    assert f"${status['limit']['found']:,.4f}" in status["error"]
    a_normal_file_is_scored_as_usual(s3, "after-costly")


def test_a_small_gzip_that_expands_past_fanout_min_bytes_is_scored_by_the_fanout(stack):
    run, aws = stack
    s3, sfn = aws["s3"], aws["stepfunctions"]
    # 600 rows, each with 2 KB of a column that is not scored: real-looking text, about 2x compressible.
    lines = [f"{i},{'Loved it.' if i % 2 else 'Hated it.'},{os.urandom(1000).hex()}\n" for i in range(600)]
    text = ("id,review,notes\n" + "".join(lines)).encode()
    packed = gzip.compress(text)
    minimum = int(parameter_default({"Ref": "FanoutMinBytes"}))
    assert len(packed) < minimum <= len(text)
    put(s3, "incoming/expands.csv.gz", packed)
    status, _ = finished(s3, "expands", within_s=180)
    assert status["state"] == "done" and status["rows_done"] == 600, status
    assert read_json(s3, "scored/expands.summary.json")["scored"] == 600
    etag = s3.head_object(Bucket=BUCKET, Key="incoming/expands.csv.gz")["ETag"]
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    names = [e["name"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]]
    assert execution_name({"key": "incoming/expands.csv.gz", "etag": etag}) in names  # the hand-off's
    assert '"handed to the fan-out"' in "".join(run.output)
