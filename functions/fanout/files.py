"""Where a fan-out run keeps its files, and the status and events a person follows it by.

A run's working files live under fanout/<run>/ (chunk list, header, parts, per-chunk results);
the bucket's lifecycle rule on that prefix removes any a run could not clean up itself.
"""

from __future__ import annotations

import json
import time
from pathlib import PurePosixPath

import boto3

from functions.events import publish as publish_event
from sentiment_core.pricing import PRICE_PER_STATE_TRANSITION, lambda_cost
from sentiment_core.settings import current

INCOMING, SCORED, WORK = "incoming/", "scored/", "fanout/"
TEXT_COLUMN_METADATA = "text-column"  # x-amz-meta-text-column names the text column, as on the single path

STATES_PER_CHUNK = 3  # Map iteration start, chunk task, iteration end: what Step Functions bills

s3 = boto3.client("s3")


def output_keys(key: str) -> dict[str, str]:
    """incoming/a/b.csv[.gz] -> scored/a/b.csv, .summary.json, .error.json, .status.json."""
    relative = PurePosixPath(key[len(INCOMING) :].removesuffix(".gz"))
    stem = str(relative.with_suffix(""))
    return {
        "csv": f"{SCORED}{relative}",
        "summary": f"{SCORED}{stem}.summary.json",
        "error": f"{SCORED}{stem}.error.json",
        "status": f"{SCORED}{stem}.status.json",
    }


def work_key(run: str, name: str) -> str:
    return f"{WORK}{run}/{name}"


def part_name(index: int, kind: str) -> str:
    """Zero-padded so a listing comes back in chunk order; kind is csv, json (done) or failed.json."""
    return f"part-{index:06d}.{kind}"


def put_json(bucket: str, key: str, document: dict) -> None:
    s3.put_object(
        Bucket=bucket, Key=key, Body=json.dumps(document, indent=2).encode(), ContentType="application/json"
    )


def memory_mb() -> int:
    return current().lambda_memory_mb


def estimated_cost(chunk_seconds: float, chunks: int) -> float:
    """Chunk functions' compute and requests plus the workflow's state transitions, in USD."""
    return round(
        lambda_cost(chunk_seconds, memory_mb(), chunks)
        + chunks * STATES_PER_CHUNK * PRICE_PER_STATE_TRANSITION,
        6,
    )


def write_status(plan: dict, state: str, **fields) -> None:
    """scored/<name>.status.json: where the file is, and how long and how much the rest should take."""
    document = {
        "source": plan["key"],
        "state": state,
        "rows_total": plan.get("rows"),
        "chunks_total": plan.get("chunks"),
        "started_at": plan.get("started_at"),
        "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **fields,
    }
    put_json(plan["bucket"], output_keys(plan["key"])["status"], document)


def publish(plan: dict, outcome: str, **detail) -> None:
    """The file's one event: "Batch file scored" or "Batch file failed"."""
    publish_event(f"Batch file {outcome}", {"bucket": plan["bucket"], "key": plan["key"], **detail})


def reject(plan: dict, reason: str, **details) -> None:
    """The single path's answer to a file that cannot be scored: error.json, no scored CSV or summary."""
    outputs = output_keys(plan["key"])
    put_json(plan["bucket"], outputs["error"], {"source": plan["key"], "error": reason, **details})
    s3.delete_objects(
        Bucket=plan["bucket"], Delete={"Objects": [{"Key": outputs["csv"]}, {"Key": outputs["summary"]}]}
    )
    write_status(plan, "failed", error=reason)
    publish(plan, "failed", error=reason, outputs={"error": outputs["error"]})
