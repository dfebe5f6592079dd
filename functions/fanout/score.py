"""Fan-out, step 2 (one Map child per chunk): score one byte range of the file into a part.

The part is written before its result record, so a result record means a complete part. Called
with an "error" (the chunk's Catch), it records why the chunk failed, for the merge to report.
"""

from __future__ import annotations

# First: the model loads in the background while the imports below run (see early_load).
import sentiment_core.adapters.early_load  # noqa: F401

# isort: split
import json
import math
import tempfile
import time

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.fanout.files import WORK, estimated_cost, part_name, put_json, s3, work_key, write_status
from sentiment_core.adapters.startup import start
from sentiment_core.chunking import Layout, score_chunk
from sentiment_core.file_summary import FileAggregate

service = start("fanout-score")
logger, metrics = service.logger, service.metrics


# Each status rewrite lists the run's files (two a chunk, one LIST per 1,000), so a rewrite after
# every one of n chunks would cost about n * n / 1,000 LISTs: 25,000 for a 5,000-chunk file. About
# every hundredth chunk rewrites it instead; the merge's "merging" status has the final counts.
PROGRESS_UPDATES = 100


def _reports_progress(plan: dict, index: int) -> bool:
    return index % math.ceil(plan["chunks"] / PROGRESS_UPDATES) == 0


def _progress(plan: dict, chunk_seconds: float) -> None:
    """Rewrite status.json from the results recorded so far (counts from one listing of the run)."""
    done = failed = 0
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=plan["bucket"], Prefix=f"{WORK}{plan['run']}/"
    ):
        for item in page.get("Contents", []):
            done += item["Key"].endswith(".csv.json")
            failed += item["Key"].endswith(".failed.json")
    elapsed = time.time() - plan["started"]
    rows_done = min(plan["rows"], done * plan["chunk_rows"])
    rate = rows_done / elapsed if elapsed > 0 else 0.0
    write_status(
        plan,
        "scoring",
        rows_done=rows_done,
        chunks_done=done,
        chunks_failed=failed,
        estimated_seconds_left=round((plan["rows"] - rows_done) / rate, 1) if rate else None,
        estimated_cost_usd=estimated_cost(chunk_seconds * plan["chunks"], plan["chunks"]),
    )


def record_failure(plan: dict, chunk: dict, error: dict) -> dict:
    first, rows = chunk["first_row"], chunk["rows"]
    metrics.add_metric(name="FanoutChunksFailed", unit=MetricUnit.Count, value=1)
    put_json(
        plan["bucket"],
        work_key(plan["run"], part_name(chunk["index"], "failed.json")),
        {"rows": [first + 1, first + rows], "error": error.get("Error"), "cause": error.get("Cause")},
    )
    return {"index": chunk["index"], "failed": True}


@service.handler()
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    plan, chunk = event["plan"], event["chunk"]
    if "error" in event:
        return record_failure(plan, chunk, event["error"])
    body = s3.get_object(
        Bucket=plan["bucket"],
        Key=plan["source"],
        Range=f"bytes={chunk['start']}-{chunk['end'] - 1}",
        IfMatch=plan["source_etag"],
    )["Body"]
    layout = Layout(**plan["layout"])
    aggregate = FileAggregate(layout.header, layout.column, plan.get("group_column"))
    with tempfile.TemporaryFile() as part:  # in $TMPDIR, else /tmp: Lambda's writable disk
        explainer = service.scorer.explain if layout.explain else None
        summary = score_chunk(
            body, part, service.scorer, layout, chunk["first_row"], observe=aggregate.add, explainer=explainer
        )
        part.seek(0)
        name = part_name(chunk["index"], "csv")
        s3.upload_fileobj(part, plan["bucket"], work_key(plan["run"], name))
    # The chunk's report aggregate rides in its result record: the merge builds the report from these.
    result = {
        **summary.as_dict(),
        "cost_usd": estimated_cost(summary.seconds, 1),
        "aggregate": aggregate.as_dict(),
    }
    s3.put_object(
        Bucket=plan["bucket"], Key=work_key(plan["run"], f"{name}.json"), Body=json.dumps(result).encode()
    )
    metrics.add_metric(name="FanoutRowsScored", unit=MetricUnit.Count, value=summary.rows)
    if _reports_progress(plan, chunk["index"]):
        _progress(plan, summary.seconds)
    return {"index": chunk["index"], "rows": summary.rows}
