"""The fast path for small files: one invocation scores a CSV put under incoming/ to scored/<name>.csv.

EventBridge routes files under the template's FanoutMinBytes here (larger ones go to the fan-out,
docs/batch.md); S3 notification records (events/, `sam local invoke`) are accepted as well. The
outputs, status.json and the completion event are the fan-out's, written with its helpers, so a
subscriber cannot tell which path ran. An S3 failure raises, and the event goes to the failure
destination (no automatic retry: docs/batch.md, "No paid retries"); outputs are written from a
finished local file, so a re-drive never finds a partial result presented as complete. The owner's
caps stop a file while it is read; a .csv.gz is routed by what it holds, and a file this invocation
cannot finish is handed to the fan-out (routing.py).
"""

from __future__ import annotations

# First: the model loads in the background while the imports below run (see early_load).
import sentiment_core.adapters.early_load  # noqa: F401

# isort: split
import gzip
import io
import tempfile
import time
import zlib
from urllib.parse import unquote_plus

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event, S3EventBridgeNotificationEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.batch.routing import HandOff, Size, check_fits, csv_size, hand_off, is_gzip, projected_seconds
from functions.fanout.files import (
    INCOMING,
    Superseded,
    check_source,
    find_object,
    finish_scored,
    not_gzip,
    output_keys,
    reject,
    s3,
    write_status,
)
from functions.fanout.reports import write_report
from sentiment_core.adapters.startup import start
from sentiment_core.csv_scoring import NotScorable, Summary, score_csv
from sentiment_core.file_limits import Caps, Counting, Limited, MoreThanExpected, check_rows
from sentiment_core.file_options import GROUP_COLUMN_METADATA, TEXT_COLUMN_METADATA, explain_requested
from sentiment_core.file_summary import FileAggregate
from sentiment_core.pricing import lambda_cost
from sentiment_core.settings import current

service = start("batch")
logger, tracer, metrics, model = service.logger, service.tracer, service.metrics, service.model

PROGRESS_EVERY_ROWS = 5_000
# Stop this long before the timeout: enough to upload the error report instead of being killed mid-file.
TIME_RESERVE_MS = 60_000


class Progress:
    """Logs progress; stops at the row cap; hands the file to the fan-out as soon as the rate so far
    says it will not finish in this invocation, and gives up with a clear reason if it cannot."""

    def __init__(self, context: LambdaContext, caps: Caps, read: Counting, size: Size) -> None:
        self.context, self.next_log, self.started = context, PROGRESS_EVERY_ROWS, time.monotonic()
        self.caps, self.read, self.size = caps, read, size

    def __call__(self, rows: int) -> None:
        if rows >= self.next_log:
            logger.info("scoring", extra={"rows": rows})
            self.next_log += PROGRESS_EVERY_ROWS
        check_rows(rows, self.caps)
        left_s = (self.context.get_remaining_time_in_millis() - TIME_RESERVE_MS) / 1000
        needed_s = projected_seconds(time.monotonic() - self.started, self.read.count, self.size.csv_bytes)
        if needed_s > left_s and current().fanout_state_machine_arn:
            raise HandOff(
                f"{rows} rows scored; the rest would take about {needed_s:.0f} s, {left_s:.0f} s are left"
            )
        if left_s < 0:
            seconds = time.monotonic() - self.started
            raise NotScorable(
                f"the file is too large for one invocation: {rows} rows were scored in {seconds:.0f} s "
                f"before the time limit; split it into files of at most {int(rows * 0.8)} rows"
            )


def _score(
    plan: dict, context: LambdaContext, scored, trust_trailer: bool = True
) -> tuple[Summary, FileAggregate]:
    caps = Caps.of(current())
    aggregates: list[FileAggregate] = []
    try:
        size = csv_size(plan, plan["stored_bytes"], caps, trust_trailer)
        check_fits(size)
        obj = s3.get_object(Bucket=plan["bucket"], Key=plan["key"], IfMatch=plan["etag"])
        compressed = Counting(obj["Body"]) if is_gzip(plan["key"]) else None
        body = Limited(
            gzip.GzipFile(fileobj=compressed) if compressed else obj["Body"], caps, compressed, size.trusted
        )
        metadata = obj.get("Metadata", {})

        def observer_for(header: list[str], column: int):
            aggregates.append(FileAggregate(header, column, metadata.get(GROUP_COLUMN_METADATA)))
            return aggregates[0].add

        summary = score_csv(
            io.BufferedReader(body),
            scored,
            service.scorer,
            metadata.get(TEXT_COLUMN_METADATA),
            Progress(context, caps, body, size),
            observer_for,
            explainer=service.scorer.explain if explain_requested(metadata, plan["key"]) else None,
        )
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise not_gzip(error) from None
    return summary, aggregates[0]


@tracer.capture_method(capture_response=False)
def score_object(plan: dict, context: LambdaContext, trust_trailer: bool = True) -> Summary | None:
    bucket, outputs = plan["bucket"], output_keys(plan["key"])
    write_status(plan, "scoring", rows_done=0, chunks_done=0, chunks_failed=0)
    with tempfile.TemporaryFile() as scored:  # in $TMPDIR, else /tmp: Lambda's writable disk
        try:
            summary, aggregate = _score(plan, context, scored, trust_trailer)
        except NotScorable as problem:
            logger.warning("file not scored", extra={"reason": str(problem)})
            metrics.add_metric(name="BatchFilesRejected", unit=MetricUnit.Count, value=1)
            check_source(plan)
            reject(plan, str(problem), getattr(problem, "limit", None))
            return None
        scored.seek(0)
        # A summary from an earlier upload of this key would vouch for the new CSV if the summary
        # write below failed: remove it first, so the pair is only ever complete or visibly not.
        s3.delete_object(Bucket=bucket, Key=outputs["summary"])
        check_source(plan)
        s3.upload_fileobj(scored, bucket, outputs["csv"], ExtraArgs={"ContentType": "text/csv"})
    summary.seconds = round(time.time() - plan["started"], 3)  # upload to summary, as the fan-out's
    cost = round(lambda_cost(summary.seconds, current().lambda_memory_mb, 1), 6)
    plan.update(rows=summary.rows, chunks=1 if summary.rows else 0)  # what the fan-out reports for it
    finish_scored(plan, summary, cost, write_report(plan, aggregate, summary, cost))
    _record_metrics(summary)
    logger.info("file scored", extra={k: v for k, v in summary.as_dict().items() if k != "model"})
    return summary


def _record_metrics(summary: Summary) -> None:
    metrics.add_metric(name="BatchRowsScored", unit=MetricUnit.Count, value=summary.scored)
    metrics.add_metric(name="BatchRowsWithErrors", unit=MetricUnit.Count, value=summary.rows_with_errors)
    metrics.add_metric(name="BatchFileSeconds", unit=MetricUnit.Seconds, value=summary.seconds)
    if summary.rows:
        metrics.add_metric(
            name="BatchRowErrorRate",
            unit=MetricUnit.Percent,
            value=100 * summary.rows_with_errors / summary.rows,
        )


def uploads(event: dict) -> list[tuple[str, str]]:
    """(bucket, key) of each upload: EventBridge's "Object Created", or S3 notification records."""
    if event.get("detail-type") == "Object Created":
        detail = S3EventBridgeNotificationEvent(event).detail
        return [(detail.bucket.name, detail.object.key)]
    # S3 URL-encodes keys in records (spaces as '+'); moto encodes the '/' too. unquote_plus undoes both.
    return [(r.s3.bucket.name, unquote_plus(r.s3.get_object.key)) for r in S3Event(event).records]


def handle(bucket: str, key: str, context: LambdaContext) -> str:
    if not key.startswith(INCOMING) or not key.lower().endswith((".csv", ".csv.gz")):
        logger.info("ignored: not a .csv or .csv.gz under incoming/")
        return "ignored"
    key, head = find_object(bucket, key)
    plan = {
        "bucket": bucket,
        "key": key,
        "etag": head["ETag"],
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "started": time.time(),
        "stored_bytes": head["ContentLength"],
    }
    try:
        try:
            summary = score_object(plan, context)
        except MoreThanExpected:  # more gzip members than its trailer told of: measure it, route it again
            summary = score_object(plan, context, trust_trailer=False)
        return "scored" if summary else "rejected"
    except HandOff as reason:
        logger.info("handed to the fan-out", extra={"reason": str(reason), "started": hand_off(plan)})
        return "handed off"
    except Superseded:
        logger.info("source uploaded again: the newer upload's run writes the outputs")
        return "superseded"


@service.handler()
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    results = []
    for bucket, key in uploads(event):
        with logger.append_context_keys(bucket=bucket, object_key=key):
            results.append({"key": key, "status": handle(bucket, key, context)})
    return {"results": results}
