"""The fan-out's state machine on moto's Step Functions interpreter, with the real handlers as its tasks.

In-process moto: faults are injected by patching the handlers' own S3 client.
"""

from __future__ import annotations

import csv
import functools
import gzip
import importlib
import io
import json
import os
import threading
import time
import uuid

import boto3
import pytest
from moto import mock_aws
from moto.core.config import default_user_config

from functions.events import EVENT_SOURCE
from functions.fanout import files
from local_run.fanout import FUNCTIONS, create_state_machine
from local_run.functions import route_invocations
from local_run.lambda_context import LocalLambdaContext
from sentiment_core import settings
from sentiment_core.csv_scoring import score_csv
from sentiment_core.explain import CSV_COLUMNS, explain
from sentiment_core.model import get_model

BUCKET = "fanout-test"
CHUNK_ROWS = 7


@pytest.fixture(scope="module")
def stack():
    os.environ.pop("AWS_ENDPOINT_URL", None)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        default_user_config["stepfunctions"] = {"execute_state_machine": True}
        s3, events, sqs = boto3.client("s3"), boto3.client("events"), boto3.client("sqs")
        s3.create_bucket(Bucket=BUCKET)
        events.create_event_bus(Name="fanout-test-bus")
        queue = sqs.create_queue(QueueName="fanout-test-events")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(
            Name="files",
            EventBusName="fanout-test-bus",
            EventPattern=json.dumps({"source": [EVENT_SOURCE]}),
        )
        events.put_targets(Rule="files", EventBusName="fanout-test-bus", Targets=[{"Id": "q", "Arn": arn}])
        os.environ["EVENT_BUS_NAME"] = "fanout-test-bus"
        settings.current.cache_clear()  # read afresh, as a new execution environment would
        modules = {name: importlib.import_module(module) for name, module in FUNCTIONS.items()}
        handlers = {
            name: (
                lambda event, m=module, n=name: m.lambda_handler(event, LocalLambdaContext(function_name=n))
            )
            for name, module in modules.items()
        }
        sfn = boto3.client("stepfunctions")
        machine = create_state_machine(sfn, ChunkRows=CHUNK_ROWS, MaxConcurrency=4, RetryIntervalSeconds=1)
        with route_invocations(handlers):
            yield {"sfn": sfn, "machine": machine, "s3": s3, "sqs": sqs, "queue": queue, "modules": modules}


def start(stack, key: str) -> str:
    return stack["sfn"].start_execution(
        stateMachineArn=stack["machine"],
        input=json.dumps({"bucket": BUCKET, "key": key}),
        name=uuid.uuid4().hex,
    )["executionArn"]


def run(stack, key: str) -> dict:
    return wait(stack, start(stack, key))


def wait(stack, arn: str) -> dict:
    deadline = time.monotonic() + 120
    while (status := stack["sfn"].describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert status["status"] == "SUCCEEDED", status
    return json.loads(status["output"])


def reviews(n: int, bom: bool = False) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["id", "review"])
    for i in range(n):
        writer.writerow(
            [i, f'Review {i}; a {"wonderful" if i % 3 else "dreadful"} film,\nsaid "critic" {i}.']
        )
    return (b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode()


def get(stack, key: str) -> bytes | None:
    try:
        return stack["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read()
    except stack["s3"].exceptions.NoSuchKey:
        return None


def work_files(stack) -> list[str]:
    return [
        o["Key"] for o in stack["s3"].list_objects_v2(Bucket=BUCKET, Prefix="fanout/").get("Contents", [])
    ]


def events(stack) -> list[dict]:
    messages = (
        stack["sqs"].receive_message(QueueUrl=stack["queue"], MaxNumberOfMessages=10).get("Messages", [])
    )
    for m in messages:
        stack["sqs"].delete_message(QueueUrl=stack["queue"], ReceiptHandle=m["ReceiptHandle"])
    return [json.loads(m["Body"]) for m in messages]


def single_path(data: bytes) -> list[list[str]]:
    out = io.BytesIO()
    score_csv(io.BytesIO(data), out, get_model())
    return list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"), newline=""), delimiter=";"))


def parsed(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def assert_same_file(got: bytes, data: bytes) -> None:
    want, have = single_path(data), parsed(got)
    assert got.startswith(b"\xef\xbb\xbf") == data.startswith(b"\xef\xbb\xbf")
    assert len(have) == len(want)
    for w, h in zip(want, have, strict=True):
        assert h[:3] + h[4:] == w[:3] + w[4:]  # every cell but the score
        if w[3:4] != ["score"] and w[3]:
            assert abs(float(h[3]) - float(w[3])) < 0.05


def test_a_file_is_scored_in_chunks_to_the_single_path_output(stack):
    data = reviews(30, bom=True)
    stack["s3"].put_object(Bucket=BUCKET, Key="incoming/a.csv", Body=data)
    events(stack)
    result = run(stack, "incoming/a.csv")
    assert result == {"status": "scored", "rows": 30}
    assert_same_file(get(stack, "scored/a.csv"), data)
    summary = json.loads(get(stack, "scored/a.summary.json"))
    assert (summary["rows"], summary["scored"], summary["delimiter"]) == (30, 30, ";")
    status = json.loads(get(stack, "scored/a.status.json"))
    assert status["state"] == "done" and status["rows_done"] == 30 and status["chunks_total"] == 5
    assert work_files(stack) == []
    (event,) = events(stack)
    assert event["detail-type"] == "Batch file scored"
    assert event["detail"]["outputs"]["csv"] == "scored/a.csv" and event["detail"]["rows"] == 30


def test_status_is_rewritten_after_each_chunk_up_to_a_hundred_chunks_then_about_each_hundredth(
    stack, monkeypatch
):
    score = stack["modules"]["fanout-score"]

    def rewrites_for(chunks: int) -> int:
        return sum(score._reports_progress({"chunks": chunks}, index) for index in range(chunks))

    assert [rewrites_for(n) for n in (1, 100, 101, 5000)] == [1, 100, 51, 100]
    rewrites = []

    def write_status(plan, state, **fields):
        rewrites.append(fields["chunks_done"])
        return files.write_status(plan, state, **fields)

    monkeypatch.setattr(score, "PROGRESS_UPDATES", 2)  # 5 chunks: chunks 0 and 3 rewrite it
    monkeypatch.setattr(score, "write_status", write_status)
    stack["s3"].put_object(Bucket=BUCKET, Key="incoming/progress.csv", Body=reviews(30))
    assert run(stack, "incoming/progress.csv") == {"status": "scored", "rows": 30}
    assert len(rewrites) == 2 and all(1 <= done <= 5 for done in rewrites)


def test_big_parts_are_copied_inside_s3_and_small_ones_joined(stack, monkeypatch):
    merge = stack["modules"]["fanout-merge"]
    # S3's 5 MiB part minimum scaled down on both sides, so these small parts exercise both ways
    monkeypatch.setattr(merge, "MIN_PART_BYTES", 300)
    monkeypatch.setattr("moto.s3.models.S3_UPLOAD_PART_MIN_SIZE", 300)
    copies = []
    original = merge.s3.upload_part_copy
    monkeypatch.setattr(merge.s3, "upload_part_copy", lambda **kw: copies.append(kw) or original(**kw))
    data = reviews(40)
    stack["s3"].put_object(Bucket=BUCKET, Key="incoming/multi.csv", Body=data)
    assert run(stack, "incoming/multi.csv")["status"] == "scored"
    assert copies  # UploadPartCopy was used
    assert_same_file(get(stack, "scored/multi.csv"), data)


def test_a_key_url_encoded_as_s3_events_encode_it_is_found(stack):
    stack["s3"].put_object(Bucket=BUCKET, Key="incoming/team reviews+.csv", Body=b"text\nGreat fun.\n")
    assert run(stack, "incoming/team+reviews%2B.csv") == {"status": "scored", "rows": 1}
    assert get(stack, "scored/team reviews+.csv") is not None


def test_empty_and_one_row_files(stack):
    stack["s3"].put_object(Bucket=BUCKET, Key="incoming/zero.csv", Body=b"id;review\r\n")
    stack["s3"].put_object(Bucket=BUCKET, Key="incoming/one.csv", Body=b"id;review\r\n1;Great fun.\r\n")
    assert run(stack, "incoming/zero.csv") == {"status": "scored", "rows": 0}
    assert get(stack, "scored/zero.csv") == b"id;review;label;score;error\r\n"
    assert run(stack, "incoming/one.csv") == {"status": "scored", "rows": 1}
    assert parsed(get(stack, "scored/one.csv"))[1][2] == "positive"


def test_a_gzipped_csv_is_decompressed_once_and_scored(stack):
    data = reviews(12)
    stack["s3"].put_object(Bucket=BUCKET, Key="incoming/z.csv.gz", Body=gzip.compress(data))
    assert run(stack, "incoming/z.csv.gz")["status"] == "scored"
    assert_same_file(get(stack, "scored/z.csv"), data)
    assert work_files(stack) == []  # the staging copy went with the parts


def test_a_file_that_cannot_be_scored_gets_the_single_path_reason(stack):
    stack["s3"].put_object(Bucket=BUCKET, Key="incoming/bad.csv", Body=b"name,stars\nx,1\n")
    events(stack)
    assert run(stack, "incoming/bad.csv") == {"status": "rejected"}
    assert "no text column" in json.loads(get(stack, "scored/bad.error.json"))["error"]
    assert get(stack, "scored/bad.csv") is None
    assert [e["detail-type"] for e in events(stack)] == ["Batch file failed"]


def _failing_reads(monkeypatch, stack, fails: dict):
    """Make the chunk function's ranged GETs of chunk starts in `fails` fail that many times."""
    score = stack["modules"]["fanout-score"]
    original = score.s3.get_object
    lock = threading.Lock()

    def get_object(**kwargs):
        start = int(kwargs.get("Range", "bytes=-1-").split("=")[1].split("-")[0] or -1)
        with lock:
            if fails.get(start, 0) > 0:
                fails[start] -= 1
                raise ConnectionError(f"injected read failure at byte {start}")
        return original(**kwargs)

    monkeypatch.setattr(score.s3, "get_object", get_object)


def _chunk_start(data: bytes, index: int) -> int:
    from sentiment_core.chunking import plan_chunks

    return plan_chunks(io.BytesIO(data), CHUNK_ROWS)[1][index].start


def test_a_chunk_failing_once_is_retried_and_the_file_completes(stack, monkeypatch):
    data = reviews(20)
    fails = {_chunk_start(data, 1): 1}
    _failing_reads(monkeypatch, stack, fails)
    stack["s3"].put_object(Bucket=BUCKET, Key="incoming/retry.csv", Body=data)
    assert run(stack, "incoming/retry.csv")["status"] == "scored"
    assert fails == {_chunk_start(data, 1): 0}
    assert_same_file(get(stack, "scored/retry.csv"), data)


def test_a_chunk_failing_every_time_fails_the_file_and_leaves_nothing_half_done(stack, monkeypatch):
    data = reviews(20)
    _failing_reads(monkeypatch, stack, {_chunk_start(data, 2): 99})
    stack["s3"].put_object(Bucket=BUCKET, Key="incoming/doomed.csv", Body=data)
    events(stack)
    assert run(stack, "incoming/doomed.csv")["status"] == "failed"
    error = json.loads(get(stack, "scored/doomed.error.json"))
    assert "rows 15-20" in error["error"] and "injected read failure" in json.dumps(error["failed_chunks"])
    assert get(stack, "scored/doomed.csv") is None and get(stack, "scored/doomed.summary.json") is None
    assert json.loads(get(stack, "scored/doomed.status.json"))["state"] == "failed"
    assert work_files(stack) == []
    assert [e["detail-type"] for e in events(stack)] == ["Batch file failed"]


def test_two_files_at_once(stack):
    first, second = reviews(21), reviews(15, bom=True)
    stack["s3"].put_object(Bucket=BUCKET, Key="incoming/one-of-two.csv", Body=first)
    stack["s3"].put_object(Bucket=BUCKET, Key="incoming/two-of-two.csv", Body=second)
    arns = [start(stack, k) for k in ("incoming/one-of-two.csv", "incoming/two-of-two.csv")]
    assert [wait(stack, arn)["status"] for arn in arns] == ["scored", "scored"]
    assert_same_file(get(stack, "scored/one-of-two.csv"), first)
    assert_same_file(get(stack, "scored/two-of-two.csv"), second)


def test_a_run_overtaken_by_a_new_upload_writes_nothing(stack, monkeypatch):
    old, new = reviews(14), reviews(9)
    stack["s3"].put_object(Bucket=BUCKET, Key="incoming/race.csv", Body=old)
    score = stack["modules"]["fanout-score"]
    original = score.score_chunk
    uploaded = threading.Event()

    def score_then_reupload(*args, **kwargs):
        with threading.Lock():
            if not uploaded.is_set():
                uploaded.set()
                stack["s3"].put_object(Bucket=BUCKET, Key="incoming/race.csv", Body=new)
        return original(*args, **kwargs)

    monkeypatch.setattr(score, "score_chunk", score_then_reupload)
    assert run(stack, "incoming/race.csv")["status"] == "superseded"
    assert get(stack, "scored/race.csv") is None
    monkeypatch.setattr(score, "score_chunk", original)
    assert run(stack, "incoming/race.csv")["status"] == "scored"  # the later upload's run
    assert_same_file(get(stack, "scored/race.csv"), new)
    assert work_files(stack) == []


def movie_reviews(n: int) -> bytes:
    """Reviews of three movies over two months, and one row with a delimiter too many."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["id", "movie", "date", "review"])
    for i in range(n):
        opinion = "wonderful" if i % 3 else "dreadful"
        writer.writerow(
            [i, f"Movie <{i % 3}>", f"2026-0{1 + i % 2}-{1 + i % 28:02d}", f"A {opinion} film {i}."]
        )
    return buffer.getvalue().encode() + b"40;Movie <1>;2026-01-05;A wonderful film; really\r\n"


def test_the_merge_builds_the_report_from_the_chunk_aggregates_without_reading_scored_rows(
    stack, monkeypatch
):
    data = movie_reviews(40)
    stack["s3"].put_object(
        Bucket=BUCKET, Key="incoming/movies.csv", Body=data, Metadata={"group-column": "movie"}
    )
    merge = stack["modules"]["fanout-merge"]
    reads: list[str] = []
    original_get, original_report = merge.s3.get_object, merge.write_report
    monkeypatch.setattr(merge.s3, "get_object", lambda **kw: reads.append(kw["Key"]) or original_get(**kw))

    def report_without_the_rows(plan, *args):
        """The scored rows are gone (parts and scored CSV) before the report is built: it needs none."""
        rows = [k for k in work_files(stack) if k.endswith(".csv")] + ["scored/movies.csv"]
        stack["s3"].delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in rows]})
        reads.clear()
        figures = original_report(plan, *args)
        assert reads == []  # not one GET while the report is built
        return figures

    monkeypatch.setattr(merge, "write_report", report_without_the_rows)
    assert run(stack, "incoming/movies.csv") == {"status": "scored", "rows": 41}
    summary = json.loads(get(stack, "scored/movies.summary.json"))
    figures, report = summary["figures"], get(stack, "scored/movies.report.html").decode()

    single = single_path(data)[1:]  # the same rows scored in one piece: the counts must agree
    assert figures["rows"] == 41 and figures["scored"] == sum(1 for r in single if r[4])
    assert figures["positive"]["positives"] == sum(1 for r in single if r[4] == "positive")
    assert figures["errors"] == {"more fields than the header (joined)": 1}
    assert figures["group"]["column"] == "movie" and figures["group"]["source"] == "named"
    by_movie = {g["value"]: g["positives"] for g in figures["group"]["groups"]}
    assert by_movie == {m: sum(1 for r in single if r[1] == m and r[4] == "positive") for m in by_movie}
    assert (
        figures["timeline"]["column"] == "date"
        and sum(p["rows"] for p in figures["timeline"]["points"]) == 41
    )
    assert sum(figures["histogram"]["counts"]) == figures["scored"]
    assert {t["row"] for t in figures["most_negative"]} <= {
        i + 1 for i, r in enumerate(single) if r[4] == "negative"
    }
    assert "Movie &lt;1&gt;" in report and "Movie <1>" not in report  # the file's text escaped
    assert work_files(stack) == []


def test_ragged_rows_come_back_rectangular_from_the_fan_out(stack):
    lines = ["What a wonderful, heartfelt film.", "Dreadful, dull, far too long."] * 6
    stack["s3"].put_object(Bucket=BUCKET, Key="incoming/one.csv", Body=("text\n" + "\n".join(lines)).encode())
    assert run(stack, "incoming/one.csv") == {"status": "scored", "rows": 12}
    table = list(csv.reader(io.StringIO(get(stack, "scored/one.csv").decode(), newline="")))
    assert table[0] == ["text", "label", "score", "error"] and all(len(row) == 4 for row in table)
    assert [row[0] for row in table[1:]] == lines and not any(row[3] for row in table[1:])
    assert [row[1] for row in table[1:3]] == ["positive", "negative"]

    data = b"id,text,stars\n1,A wonderful film.,5\n2,Dull.\n3,Dull, dull film.,1\n"
    stack["s3"].put_object(Bucket=BUCKET, Key="incoming/ragged.csv", Body=data)
    assert run(stack, "incoming/ragged.csv")["status"] == "scored"
    table = list(csv.reader(io.StringIO(get(stack, "scored/ragged.csv").decode(), newline="")))
    assert all(len(row) == 6 for row in table)
    assert table[2][:3] == ["2", "Dull.", ""] and table[2][5].startswith("row has 2 fields, the header has 3")
    assert table[3][:3] == ["3", "Dull", " dull film.,1"] and table[3][5].startswith("row has 4 fields")


def test_a_file_whose_metadata_asks_is_explained_in_smaller_chunks(stack):
    data = reviews(6)
    stack["s3"].put_object(Bucket=BUCKET, Key="incoming/why.csv", Body=data, Metadata={"explain": "true"})
    assert run(stack, "incoming/why.csv") == {"status": "scored", "rows": 6}
    model, single = get_model(), io.BytesIO()
    score_csv(io.BytesIO(data), single, model, explainer=functools.partial(explain, model))
    want, have = parsed(single.getvalue()), parsed(get(stack, "scored/why.csv"))
    assert have[0][-4:] == list(CSV_COLUMNS)
    assert have == want  # each text runs alone: the same cells, to the last digit, on either path
    # An explained row costs up to MAX_SPANS + 2 passes, so chunks are that many times smaller.
    status = json.loads(get(stack, "scored/why.status.json"))
    assert status["chunks_total"] == 6
