"""Peak memory (RSS) of each function's process: imports, model, one representative invocation.

    python -m benchmarks.memory [--rows 5000]

Local AWS (moto) runs in this process; each function runs in a fresh child process,
as in its own Lambda execution environment, so its RSS is the function's alone.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import resource

from benchmarks.common import handler_environment, local_aws, quiet, run_json, spread_texts

FUNCTIONS = ("api", "worker", "batch")
CSV_KEY = "incoming/memory.csv"


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: KiB


def invoke(function: str) -> dict:
    """Child side: import the handler, invoke it once with a realistic event, report peak RSS."""
    import importlib

    from local_run.http_api_events import http_api_event
    from local_run.lambda_context import LocalLambdaContext
    from local_run.pollers import sqs_event

    handler_environment()
    app = importlib.import_module(f"functions.{function}.app")
    after_init = _rss_mb()
    context = LocalLambdaContext(function_name=function, timeout_s=900)
    bucket = os.environ["DATA_BUCKET"]
    if function == "api":
        body = json.dumps({"texts": spread_texts(64)}).encode()
        event = http_api_event("POST", "/predict", {"content-type": "application/json"}, body)
    elif function == "worker":
        import boto3

        queue = os.environ["JOBS_QUEUE_URL"]
        messages = boto3.client("sqs").receive_message(
            QueueUrl=queue, MaxNumberOfMessages=1, AttributeNames=["All"], MessageAttributeNames=["All"]
        )["Messages"]
        event = sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:jobs", "us-east-1")
    else:
        event = {"Records": [{"s3": {"bucket": {"name": bucket}, "object": {"key": CSV_KEY}}}]}
    with quiet():
        app.lambda_handler(event, context)
    return {"function": function, "rss_after_init_mb": after_init, "peak_rss_mb": _rss_mb()}


def memory_per_function(rows: int) -> dict:
    """Parent side: moto with the template's resources, a job and a CSV waiting, then one child each."""
    from sentiment_core.adapters.jobs import JobStore
    from sentiment_core.settings import Settings

    with local_aws() as (env, resources):
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer)
        writer.writerow(["text"])
        writer.writerows([t] for t in spread_texts(rows))
        import boto3

        boto3.client("s3").put_object(Bucket=resources.bucket, Key=CSV_KEY, Body=buffer.getvalue().encode())
        JobStore.from_settings(Settings.from_env()).submit(spread_texts(1000))
        measured = {
            f: run_json(["-m", "benchmarks.memory", "--child", f], env=env, timeout=1800) for f in FUNCTIONS
        }
    return {"csv_rows": rows, "job_texts": 1000, "api_texts": 64, "functions": measured}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--child", choices=FUNCTIONS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    print(json.dumps(invoke(args.child) if args.child else memory_per_function(args.rows)))


if __name__ == "__main__":
    main()
