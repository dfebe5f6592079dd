"""Fan-out, step 1: find the file's row boundaries and write the chunk list the Distributed Map reads.

A .csv.gz is decompressed once to a staging object, so every chunk can take a ranged GET of it.
A file that cannot be scored gets error.json here, with the reason the single path would give; one
over the owner's caps (bytes, expansion and rows while read, then the estimated cost) is rejected
here, before the Map scores any chunk.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import time
import zlib

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.fanout.files import (
    find_object,
    not_gzip,
    reject,
    s3,
    work_key,
    write_status,
)
from sentiment_core.chunking import plan_chunks
from sentiment_core.csv_scoring import NotScorable
from sentiment_core.explain import MAX_SPANS
from sentiment_core.file_limits import Caps, Counting, Limited, check_bytes, check_cost, estimated_cost
from sentiment_core.file_options import GROUP_COLUMN_METADATA, TEXT_COLUMN_METADATA, explain_requested
from sentiment_core.settings import current

logger = Logger(service="fanout-split")


def _stage_gzip(bucket: str, key: str, etag: str, run: str, caps: Caps) -> tuple[str, str]:
    """Decompress key to the run's staging object, stopping at the caps; return its key and ETag."""
    staged = work_key(run, "source.csv")
    compressed = Counting(s3.get_object(Bucket=bucket, Key=key, IfMatch=etag)["Body"])
    expanded = Limited(gzip.GzipFile(fileobj=compressed), caps, compressed)
    try:
        s3.upload_fileobj(io.BufferedReader(expanded), bucket, staged)
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise not_gzip(error) from None
    return staged, s3.head_object(Bucket=bucket, Key=staged)["ETag"]


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    bucket, run = event["bucket"], event["run"]
    key, head = find_object(bucket, event["key"])
    plan = {
        "bucket": bucket,
        "key": key,
        "etag": head["ETag"],  # the merge writes only if the source is still this upload
        "run": run,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "started": time.time(),
    }
    write_status(plan, "splitting")
    caps = Caps.of(current())
    try:
        source, source_etag = key, head["ETag"]
        if key.lower().endswith(".gz"):
            source, source_etag = _stage_gzip(bucket, key, head["ETag"], run, caps)
        else:
            check_bytes(head["ContentLength"], caps, exact=True)
        body = s3.get_object(Bucket=bucket, Key=source, IfMatch=source_etag)["Body"]
        requested = head.get("Metadata", {}).get(TEXT_COLUMN_METADATA)
        explain = explain_requested(head.get("Metadata", {}), key)
        # An explained row costs up to MAX_SPANS + 2 passes: chunks that many times smaller keep a
        # chunk's time within what a plain chunk takes.
        chunk_rows = (
            max(1, int(event["chunk_rows"]) // (MAX_SPANS + 2)) if explain else int(event["chunk_rows"])
        )
        layout, chunks = plan_chunks(Limited(body, caps), chunk_rows, requested, caps)
        layout = dataclasses.replace(layout, explain=explain)
        rows = sum(c.rows for c in chunks)
        cost = estimated_cost(rows, chunks[-1].end if chunks else 0, len(chunks), explained=explain)
        check_cost(cost, rows, caps)  # before the Map starts: nothing is scored yet
    except NotScorable as problem:
        logger.warning("file not scored", extra={"reason": str(problem)})
        if source != key:  # a staged copy of a rejected .csv.gz: up to MaxFileBytes, kept for nothing
            s3.delete_object(Bucket=bucket, Key=source)
        reject(plan, str(problem), getattr(problem, "limit", None))
        return {**plan, "rejected": True}
    chunk_list = work_key(run, "chunks.json")
    s3.put_object(Bucket=bucket, Key=chunk_list, Body=json.dumps([c.as_dict() for c in chunks]).encode())
    s3.put_object(Bucket=bucket, Key=work_key(run, "header.csv"), Body=layout.output_header())
    plan.update(
        rejected=False,
        source=source,
        source_etag=source_etag,
        chunk_list=chunk_list,
        chunks=len(chunks),
        chunk_rows=chunk_rows,
        rows=rows,
        layout=layout.as_dict(),
        group_column=head.get("Metadata", {}).get(GROUP_COLUMN_METADATA),
    )
    write_status(plan, "scoring", rows_done=0, chunks_done=0, chunks_failed=0, estimated_cost_usd=cost)
    logger.info("file split", extra={"rows": plan["rows"], "chunks": plan["chunks"]})
    return plan
