"""Where a fan-out run keeps its files, and the status and events a person follows it by.

A run's working files live under fanout/<run>/ (chunk list, header, parts, per-chunk results);
the bucket's lifecycle rule on that prefix removes any a run could not clean up itself.
"""

from __future__ import annotations

import json
import time
from pathlib import PurePosixPath
from urllib.parse import unquote_plus

import boto3
from botocore.exceptions import ClientError

from functions.events import publish as publish_event
from sentiment_core.csv_scoring import NotScorable, Summary
from sentiment_core.pricing import PRICE_PER_STATE_TRANSITION, STATES_PER_CHUNK, lambda_cost
from sentiment_core.settings import current

INCOMING, SCORED, WORK = "incoming/", "scored/", "fanout/"


s3 = boto3.client("s3")


def output_keys(key: str) -> dict[str, str]:
    """incoming/a/b.csv[.gz] -> scored/a/b.csv, .summary.json, .report.html, .error.json, .status.json."""
    relative = PurePosixPath(key[len(INCOMING) :].removesuffix(".gz"))
    stem = str(relative.with_suffix(""))
    return {
        "csv": f"{SCORED}{relative}",
        "summary": f"{SCORED}{stem}.summary.json",
        "report": f"{SCORED}{stem}.report.html",
        "error": f"{SCORED}{stem}.error.json",
        "status": f"{SCORED}{stem}.status.json",
    }


def find_object(bucket: str, key: str) -> tuple[str, dict]:
    """The object and its metadata. S3 URL-encodes keys in its events (spaces as '+'): if the key as
    given is not there, the decoded one is. A role without s3:ListBucket is told 403 for a missing key."""
    try:
        return key, s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        missing = error.response["Error"]["Code"] in ("403", "404", "NoSuchKey", "AccessDenied")
        if not missing or unquote_plus(key) == key:
            raise
    return unquote_plus(key), s3.head_object(Bucket=bucket, Key=unquote_plus(key))


def not_gzip(error: Exception) -> NotScorable:
    """The reason given for a .csv.gz that does not decompress, on either path."""
    return NotScorable(f"the .csv.gz file is not valid gzip ({error}): upload it again")


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


class Superseded(Exception):
    """The source was uploaded again after this run read it: the newer upload's run writes the outputs."""


def check_source(plan: dict) -> None:
    """Before each output write: the object under the key is still the upload this run scored."""
    if s3.head_object(Bucket=plan["bucket"], Key=plan["key"])["ETag"] != plan["etag"]:
        raise Superseded


def finish_scored(plan: dict, summary: Summary, cost: float, figures: dict | None = None) -> None:
    """After the scored CSV and the report are in place: summary.json (with the report's figures)
    last of the outputs (its presence vouches for them), then the status and the file's event.
    The same on the fast path and the fan-out."""
    outputs = output_keys(plan["key"])
    check_source(plan)
    put_json(
        plan["bucket"],
        outputs["summary"],
        {
            "source": plan["key"],
            "output": outputs["csv"],
            "report": outputs["report"],
            **summary.as_dict(),
            "cost_usd": cost,
            "figures": figures,
        },
    )
    s3.delete_object(Bucket=plan["bucket"], Key=outputs["error"])
    write_status(
        plan, "done", rows_done=summary.rows, chunks_done=plan["chunks"], chunks_failed=0, cost_usd=cost
    )
    publish(
        plan,
        "scored",
        outputs={"csv": outputs["csv"], "report": outputs["report"], "summary": outputs["summary"]},
        rows=summary.rows,
        scored=summary.scored,
        rows_with_errors=summary.rows_with_errors,
        model=summary.model,
    )


def reject(plan: dict, reason: str, limit: dict | None = None, **details) -> None:
    """The single path's answer to a file that cannot be scored: error.json, no scored CSV, report or
    summary. A file over one of the owner's caps (`limit`, from file_limits.OverCap) is `rejected`,
    not `failed`."""
    outputs = output_keys(plan["key"])
    capped = {"limit": limit} if limit else {}
    put_json(plan["bucket"], outputs["error"], {"source": plan["key"], "error": reason, **capped, **details})
    stale = [{"Key": outputs[name]} for name in ("csv", "summary", "report")]
    s3.delete_objects(Bucket=plan["bucket"], Delete={"Objects": stale})
    write_status(plan, "rejected" if limit else "failed", error=reason, **capped)
    publish(plan, "failed", error=reason, outputs={"error": outputs["error"]}, **capped)
