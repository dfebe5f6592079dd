"""Fan-out, step 3: join the parts in row order into scored/<name>.csv, then write summary.json last.

The report is built from the chunks' aggregates (in their result records): the scored rows are
never read again for it.

Checks itself that every chunk succeeded (Step Functions' tolerated-failure settings are not
relied on). A failed chunk fails the file: error.json names the failed row ranges and why, and no
scored CSV or summary appears. If the source was uploaded again meanwhile, the newer run owns
the outputs and this one writes none. The run's working files are removed in every case.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.fanout.files import (
    WORK,
    Superseded,
    check_source,
    estimated_cost,
    finish_scored,
    output_keys,
    part_name,
    reject,
    s3,
    write_status,
)
from functions.fanout.reports import write_report
from sentiment_core.csv_scoring import Summary
from sentiment_core.file_summary import FileAggregate

logger = Logger(service="fanout-merge")
MIN_PART_BYTES = 5 * 1024 * 1024  # S3's minimum for every multipart part but the last
READERS = 16


def _listing(bucket: str, prefix: str) -> dict[str, int]:
    sizes = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        sizes.update({item["Key"]: item["Size"] for item in page.get("Contents", [])})
    return sizes


def _read_json(bucket: str, key: str) -> dict:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def _assemble(bucket: str, target: str, parts: list[tuple[str, int]], plan: dict) -> None:
    """Concatenate parts into target: small ones buffered to 5 MiB, big ones copied inside S3."""
    if sum(size for _, size in parts) < MIN_PART_BYTES:
        body = b"".join(s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key, _ in parts)
        check_source(plan)
        s3.put_object(Bucket=bucket, Key=target, Body=body, ContentType="text/csv")
        return
    upload = s3.create_multipart_upload(Bucket=bucket, Key=target, ContentType="text/csv")["UploadId"]
    done: list[dict] = []
    buffer = bytearray()

    def flush() -> None:
        number = len(done) + 1
        etag = s3.upload_part(
            Bucket=bucket, Key=target, UploadId=upload, PartNumber=number, Body=bytes(buffer)
        )
        done.append({"PartNumber": number, "ETag": etag["ETag"]})
        buffer.clear()

    try:
        for key, size in parts:
            if not buffer and size >= MIN_PART_BYTES:
                number = len(done) + 1
                copied = s3.upload_part_copy(
                    Bucket=bucket,
                    Key=target,
                    UploadId=upload,
                    PartNumber=number,
                    CopySource={"Bucket": bucket, "Key": key},
                )
                done.append({"PartNumber": number, "ETag": copied["CopyPartResult"]["ETag"]})
                continue
            buffer += s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            if len(buffer) >= MIN_PART_BYTES:
                flush()
        if buffer:
            flush()
        check_source(plan)
        s3.complete_multipart_upload(
            Bucket=bucket, Key=target, UploadId=upload, MultipartUpload={"Parts": done}
        )
    except BaseException:
        s3.abort_multipart_upload(Bucket=bucket, Key=target, UploadId=upload)
        raise


def _failures(plan: dict, listing: dict[str, int]) -> list[dict]:
    prefix = f"{WORK}{plan['run']}/"
    failed = []
    for index in range(plan["chunks"]):
        if prefix + part_name(index, "csv.json") in listing:
            continue
        marker = prefix + part_name(index, "failed.json")
        failed.append(
            _read_json(plan["bucket"], marker)
            if marker in listing
            else {"chunk": index, "error": "no result", "cause": "the chunk neither finished nor failed"}
        )
    return failed


def _clean(plan: dict, listing: dict[str, int]) -> None:
    keys = [{"Key": key} for key in listing]
    for start in range(0, len(keys), 1000):  # DeleteObjects takes 1,000 keys a call
        s3.delete_objects(
            Bucket=plan["bucket"], Delete={"Objects": keys[start : start + 1000], "Quiet": True}
        )


def merge(plan: dict) -> dict:
    bucket, outputs = plan["bucket"], output_keys(plan["key"])
    prefix = f"{WORK}{plan['run']}/"
    listing = _listing(bucket, prefix)
    failed = _failures(plan, listing)
    if failed:
        ranges = "; ".join(f"rows {f['rows'][0]}-{f['rows'][1]}: {f['error']}" for f in failed if "rows" in f)
        check_source(plan)
        reject(
            plan,
            f"{len(failed)} of {plan['chunks']} chunks failed ({ranges or 'see failed_chunks'})",
            failed_chunks=failed,
        )
        return {"status": "failed", "failed_chunks": len(failed)}
    write_status(plan, "merging", rows_done=plan["rows"], chunks_done=plan["chunks"], chunks_failed=0)
    keys = [prefix + part_name(i, "csv.json") for i in range(plan["chunks"])]
    layout = plan["layout"]
    aggregate = FileAggregate(layout["header"], layout["column"], plan.get("group_column"))
    with ThreadPoolExecutor(READERS) as pool:
        results = []
        for result in pool.map(lambda key: _read_json(bucket, key), keys):  # folded as read: bounded
            aggregate.merge(FileAggregate.from_dict(result.pop("aggregate")))
            results.append(result)
    total = Summary(text_column=layout["header"][layout["column"]].strip(), delimiter=layout["delimiter"])
    for result in results:
        for name in ("rows", "scored", "positives", "negatives", "rows_with_errors"):
            setattr(total, name, getattr(total, name) + result[name])
        total.model = result["model"]
    parts = [(prefix + "header.csv", listing[prefix + "header.csv"])]
    parts += [
        (prefix + part_name(i, "csv"), listing[prefix + part_name(i, "csv")]) for i in range(plan["chunks"])
    ]
    # A summary from an earlier upload would vouch for the new CSV if a later write failed.
    s3.delete_object(Bucket=bucket, Key=outputs["summary"])
    _assemble(bucket, outputs["csv"], parts, plan)
    total.seconds = round(time.time() - plan["started"], 3)
    cost = estimated_cost(sum(r["seconds"] for r in results), plan["chunks"])
    finish_scored(plan, total, cost, write_report(plan, aggregate, total, cost))
    return {"status": "scored", "rows": total.rows}


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    plan = event["plan"]
    try:
        result = merge(plan)
    except Superseded:
        logger.info("source uploaded again: the newer run writes the outputs")
        result = {"status": "superseded"}
    _clean(plan, _listing(plan["bucket"], f"{WORK}{plan['run']}/"))
    logger.info("merge finished", extra=result)
    return result
