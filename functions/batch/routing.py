"""Which path a file belongs on by what it holds, and the hand-off of a file to the fan-out.

The start rules route on the size as stored, so a small .csv.gz reaches the fast path whatever it
expands to. Here its CSV size is read from the gzip trailer where that can be trusted, else
measured by decompressing without scoring; a file at FanoutMinBytes or more, or one the fast
path finds it cannot finish in time, is handed to the fan-out within seconds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import boto3

from functions.fanout.files import s3
from sentiment_core.file_limits import (
    GZIP_MIN_BYTES,
    Caps,
    check_bytes,
    check_ratio,
    measure_gzip,
    trailer_size,
)
from sentiment_core.settings import current


class HandOff(Exception):
    """The fan-out should score this file; the message says why."""


@dataclass(frozen=True)
class Size:
    csv_bytes: int  # the CSV bytes the upload holds (a .csv.gz: at least this many if not `complete`)
    trusted: int | None = None  # a .csv.gz's size from its trailer: more than this means more members


def is_gzip(key: str) -> bool:
    return key.lower().endswith(".gz")


def csv_size(plan: dict, stored_bytes: int, caps: Caps, trust_trailer: bool = True) -> Size:
    """The file's CSV bytes, within the caps (OverCap otherwise); a .csv.gz's are measured up to
    FanoutMinBytes when its trailer cannot be trusted."""
    if not is_gzip(plan["key"]):
        check_bytes(stored_bytes, caps, exact=True)
        return Size(stored_bytes)
    if trust_trailer and stored_bytes >= GZIP_MIN_BYTES:
        tail = s3.get_object(Bucket=plan["bucket"], Key=plan["key"], IfMatch=plan["etag"], Range="bytes=-4")
        size = trailer_size(stored_bytes, tail["Body"].read())
        if size is not None:
            check_bytes(size, caps, exact=True)
            check_ratio(size, stored_bytes, caps, exact=True)
            return Size(size, trusted=size)
    body = s3.get_object(Bucket=plan["bucket"], Key=plan["key"], IfMatch=plan["etag"])["Body"]
    return Size(measure_gzip(body, caps, current().fanout_min_bytes))


def check_fits(size: Size) -> None:
    """A .csv.gz that expands to FanoutMinBytes or more is the fan-out's, as a .csv of that size is."""
    if size.csv_bytes >= current().fanout_min_bytes:
        raise HandOff(
            f"the .csv.gz holds {size.csv_bytes:,} bytes of CSV or more, at least FanoutMinBytes "
            f"({current().fanout_min_bytes:,})"
        )


def projected_seconds(elapsed: float, bytes_read: int, csv_bytes: int) -> float:
    """Seconds the rest of the file should take at the rate so far (rows to come scale with bytes)."""
    if bytes_read <= 0:
        return 0.0
    return elapsed * max(0, csv_bytes - bytes_read) / bytes_read


def execution_name(plan: dict) -> str:
    """One name per upload (key and ETag): a repeated hand-off finds the execution already started."""
    return hashlib.sha256(f"{plan['key']}\0{plan['etag']}".encode()).hexdigest()[:64]


def hand_off(plan: dict) -> bool:
    """Start the fan-out on the file; False if this upload's execution was already started."""
    sfn = boto3.client("stepfunctions")
    try:
        sfn.start_execution(
            stateMachineArn=current().fanout_state_machine_arn,
            name=execution_name(plan),
            input=json.dumps({"bucket": plan["bucket"], "key": plan["key"]}),
        )
    except sfn.exceptions.ExecutionAlreadyExists:
        return False
    return True
