"""Batch scoring: a CSV put under incoming/ is scored to scored/<name>.csv plus a summary.

Every record of the S3 event is handled. A file that cannot be scored gets
scored/<name>.error.json saying why. An S3 failure raises, so Lambda retries the
event; outputs are written from a finished local file, so a retry never finds a
partial result presented as complete.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import PurePosixPath
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from sentiment_core.adapters.startup import start
from sentiment_core.csv_scoring import NotScorable, Summary, score_csv
from sentiment_core.responses import model_fields

service = start("batch")
logger, tracer, metrics, model = service.logger, service.tracer, service.metrics, service.model
s3 = boto3.client("s3")

INCOMING, SCORED = "incoming/", "scored/"
TEXT_COLUMN_METADATA = "text-column"  # x-amz-meta-text-column names the text column
PROGRESS_EVERY_ROWS = 5_000
# Stop this long before the timeout: enough to upload the error report instead of being killed mid-file.
TIME_RESERVE_MS = 60_000


def output_keys(key: str) -> dict[str, str]:
    """incoming/a/b.csv -> scored/a/b.csv, scored/a/b.summary.json, scored/a/b.error.json."""
    relative = PurePosixPath(key[len(INCOMING) :])
    stem = str(relative.with_suffix(""))
    return {
        "csv": f"{SCORED}{relative}",
        "summary": f"{SCORED}{stem}.summary.json",
        "error": f"{SCORED}{stem}.error.json",
    }


def _put_json(bucket: str, key: str, document: dict) -> None:
    s3.put_object(
        Bucket=bucket, Key=key, Body=json.dumps(document, indent=2).encode(), ContentType="application/json"
    )


class Progress:
    """Logs progress, and gives up with a clear reason when the file will not fit in this invocation."""

    def __init__(self, context: LambdaContext) -> None:
        self.context, self.next_log, self.started = context, PROGRESS_EVERY_ROWS, time.monotonic()

    def __call__(self, rows: int) -> None:
        if rows >= self.next_log:
            logger.info("scoring", extra={"rows": rows})
            self.next_log += PROGRESS_EVERY_ROWS
        if self.context.get_remaining_time_in_millis() < TIME_RESERVE_MS:
            seconds = time.monotonic() - self.started
            raise NotScorable(
                f"the file is too large for one invocation: {rows} rows were scored in {seconds:.0f} s "
                f"before the time limit; split it into files of at most {int(rows * 0.8)} rows"
            )


@tracer.capture_method(capture_response=False)
def score_object(bucket: str, key: str, context: LambdaContext) -> Summary | None:
    outputs = output_keys(key)
    obj = s3.get_object(Bucket=bucket, Key=key)
    requested_column = obj.get("Metadata", {}).get(TEXT_COLUMN_METADATA)
    with tempfile.TemporaryFile() as scored:  # in $TMPDIR, else /tmp: Lambda's writable disk
        try:
            summary = score_csv(obj["Body"], scored, service.scorer, requested_column, Progress(context))
        except NotScorable as problem:
            logger.warning("file not scored", extra={"reason": str(problem)})
            metrics.add_metric(name="BatchFilesRejected", unit=MetricUnit.Count, value=1)
            _put_json(
                bucket,
                outputs["error"],
                {
                    "source": key,
                    "error": str(problem),
                    "model": model_fields(model),
                },
            )
            s3.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": outputs["csv"]}, {"Key": outputs["summary"]}]}
            )
            return None
        scored.seek(0)
        # A summary from an earlier upload of this key would vouch for the new CSV if the summary
        # write below failed: remove it first, so the pair is only ever complete or visibly not.
        s3.delete_object(Bucket=bucket, Key=outputs["summary"])
        s3.upload_fileobj(scored, bucket, outputs["csv"], ExtraArgs={"ContentType": "text/csv"})
    # The summary is written last: its presence means the scored CSV is complete.
    _put_json(bucket, outputs["summary"], {"source": key, "output": outputs["csv"], **summary.as_dict()})
    s3.delete_object(Bucket=bucket, Key=outputs["error"])
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


@service.handler()
@event_source(data_class=S3Event)
def lambda_handler(event: S3Event, context: LambdaContext) -> dict:
    results = []
    for record in event.records:
        # S3 URL-encodes keys in events (spaces as '+'); moto encodes the '/' too. unquote_plus undoes both.
        bucket, key = record.s3.bucket.name, unquote_plus(record.s3.get_object.key)
        with logger.append_context_keys(bucket=bucket, object_key=key):
            if not key.startswith(INCOMING) or not key.lower().endswith(".csv"):
                logger.info("ignored: not a .csv under incoming/")
                results.append({"key": key, "status": "ignored"})
                continue
            summary = score_object(bucket, key, context)
            results.append({"key": key, "status": "scored" if summary else "rejected"})
    return {"results": results}
