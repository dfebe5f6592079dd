"""Rows per second of the batch function on an IMDB CSV vs the same reviews one at a time through the core.

    python -m benchmarks.batch_throughput [--rows 5000]

The batch path is the real handler: an S3 event (moto, in process), the object
streamed from S3, scored in length-sorted mini-batches, written back.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import io
import json
import os
import time

from benchmarks.common import handler_environment, quiet, test_reviews


def batch_rows_per_second(rows: list[dict], timeout_s: int = 900) -> dict:
    """The handler on one S3 event, given `timeout_s` (Lambda's most, by default) before it gives up."""
    from moto import mock_aws

    from local_run.lambda_context import LocalLambdaContext
    from local_run.resources import create_resources

    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=["id", "label", "rating", "text"])
    writer.writeheader()
    writer.writerows(rows)
    data = buffer.getvalue().encode()
    os.environ.pop("AWS_ENDPOINT_URL", None)
    with mock_aws():
        resources = create_resources()
        os.environ.update(resources.environment())
        batch = importlib.import_module("functions.batch.app")
        batch.s3.put_object(Bucket=resources.bucket, Key="incoming/imdb.csv", Body=data)
        event = {
            "Records": [
                {
                    "s3": {
                        "bucket": {"name": resources.bucket},
                        "object": {"key": "incoming/imdb.csv", "size": len(data)},
                    }
                }
            ]
        }
        start = time.perf_counter()
        with quiet():
            batch.lambda_handler(event, LocalLambdaContext(function_name="batch", timeout_s=timeout_s))
        seconds = time.perf_counter() - start
        summary = json.loads(
            batch.s3.get_object(Bucket=resources.bucket, Key="scored/imdb.summary.json")["Body"].read()
        )
    # Every row scored: a file misread into row errors would look fast.
    assert summary["rows"] == len(rows) and summary["rows_with_errors"] == 0, summary
    return {
        "rows": len(rows),
        "seconds": round(seconds, 2),
        "rows_per_s": round(len(rows) / seconds, 1),
        "threads": batch.model.threads,
        "bytes": len(data),
    }


def one_at_a_time_rows_per_second(rows: list[dict]) -> dict:
    from sentiment_core.model import get_model

    model = get_model()
    start = time.perf_counter()
    for row in rows:
        model.predict([row["text"]])
    seconds = time.perf_counter() - start
    return {"rows": len(rows), "seconds": round(seconds, 2), "rows_per_s": round(len(rows) / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--json", action="store_true", help="print only the JSON result")
    parser.add_argument("--no-baseline", action="store_true", help="skip the one-at-a-time run")
    args = parser.parse_args()
    handler_environment()
    rows = test_reviews(args.rows, stride=max(1, 25_000 // args.rows))
    report: dict = {"batch_function": batch_rows_per_second(rows)}
    if not args.no_baseline:
        single = one_at_a_time_rows_per_second(rows)
        report["one_at_a_time_core"] = single
        report["speedup"] = round(report["batch_function"]["rows_per_s"] / single["rows_per_s"], 2)
    if args.json:
        print(json.dumps(report))
        return
    print(json.dumps(report, indent=2))
    if "speedup" in report:
        batched, single = report["batch_function"], report["one_at_a_time_core"]
        print(
            f"\nbatch function {batched['rows_per_s']} rows/s vs one at a time {single['rows_per_s']} rows/s "
            f"= {report['speedup']}x  ({len(rows)} IMDB test reviews, {batched['threads']} threads)"
        )


if __name__ == "__main__":
    main()
