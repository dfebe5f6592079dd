"""Browser uploads: a presigned POST form per file, and what has become of each file since.

A file gets its own prefix, incoming/<file_id>/<name>, so two analysts' reviews.csv never meet, and
the usual routing (the start rules) scores it to scored/<file_id>/. A small marker,
uploads/<file_id>.json, records the name: GET /files/{file_id} finds the outputs from it, and an id
never issued (404) is told apart from a file that has not arrived yet (waiting).

Forms and links are signed with SigV4 on the regional endpoint, as S3 requires in every region opened
since 2014 and for new buckets. A URL signed with a Lambda role's credentials stops working when they
expire, whatever its own expiry says: expiries are kept short, and each answer states its own.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from sentiment_core.file_options import EXPLAIN_METADATA, GROUP_COLUMN_METADATA
from sentiment_core.settings import Settings

INCOMING, SCORED, MARKERS = "incoming/", "scored/", "uploads/"
UPLOAD_EXPIRES_SECONDS = 600  # the form: long enough to send 100 MiB on a slow line
LINK_EXPIRES_SECONDS = 900  # the download and report links: a GET /files answer gives fresh ones
_MISSING = ("404", "NoSuchKey", "403", "AccessDenied")  # S3 answers 403 for a missing key without ListBucket


def _utc(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def incoming_key(file_id: str, name: str) -> str:
    return f"{INCOMING}{file_id}/{name}"


def marker_key(file_id: str) -> str:
    return f"{MARKERS}{file_id}.json"


def output_keys(file_id: str, name: str) -> dict[str, str]:
    """What the scoring writes for incoming/<file_id>/<name> (as functions.fanout.files.output_keys)."""
    csv_name = name.removesuffix(".gz")
    stem = f"{SCORED}{file_id}/{csv_name.removesuffix('.csv')}"
    return {
        "csv": f"{SCORED}{file_id}/{csv_name}",
        "summary": f"{stem}.summary.json",
        "error": f"{stem}.error.json",
        "status": f"{stem}.status.json",
        "report": f"{stem}.report.html",
    }


class UploadStore:
    def __init__(self, bucket: str, max_bytes: int) -> None:
        self.bucket, self.max_bytes = bucket, max_bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> UploadStore:
        return cls(settings.data_bucket, settings.upload_max_bytes)

    @functools.cached_property
    def s3(self):
        # us-east-1 too gets its regional endpoint, not the global one older SDKs default to.
        config = Config(signature_version="s3v4", s3={"us_east_1_regional_endpoint": "regional"})
        return boto3.client("s3", config=config)

    @functools.cached_property
    def origin(self) -> str:
        """Where forms and links point (scheme://host): the page's CSP allows it. Signing is local."""
        url = self.s3.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": "x"})
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"

    def new_upload(
        self, name: str, content_type: str, group_column: str | None, explain: bool = False
    ) -> dict[str, Any]:
        """A form for one file: its key, type, size range and expiry are pinned by the signed policy."""
        file_id = str(uuid.uuid4())
        fields = {"Content-Type": content_type}
        if group_column:
            fields[f"x-amz-meta-{GROUP_COLUMN_METADATA}"] = group_column
        if explain:
            fields[f"x-amz-meta-{EXPLAIN_METADATA}"] = "true"
        conditions: list = [{k: v} for k, v in fields.items()]
        conditions.append(["content-length-range", 1, self.max_bytes])
        now = time.time()
        form = self.s3.generate_presigned_post(
            self.bucket,
            incoming_key(file_id, name),
            Fields=fields,
            Conditions=conditions,
            ExpiresIn=UPLOAD_EXPIRES_SECONDS,
        )
        expires_at = _utc(now + UPLOAD_EXPIRES_SECONDS)
        marker = {"file_id": file_id, "name": name, "group_column": group_column, "created_at": _utc(now)}
        self.s3.put_object(
            Bucket=self.bucket,
            Key=marker_key(file_id),
            Body=json.dumps({**marker, "upload_expires_at": expires_at}).encode(),
            ContentType="application/json",
        )
        return {"file_id": file_id, "name": name, "upload": form, "expires_at": expires_at}

    def status(self, file_id: str) -> dict[str, Any] | None:
        """The file's state from its outputs; None for an id this store never issued."""
        marker = self._json(marker_key(file_id))
        if marker is None:
            return None
        name = marker["name"]
        keys = output_keys(file_id, name)
        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=f"{SCORED}{file_id}/")
        present = {o["Key"] for o in listed.get("Contents", [])}
        answer: dict[str, Any] = {"file_id": file_id, "name": name, "state": "waiting"}
        # summary.json is written last of a scored file's outputs: its presence vouches for the CSV.
        if keys["summary"] in present and (summary := self._json(keys["summary"])) is not None:
            return {**answer, "state": "done", "summary": summary, "links": self._links(name, keys, present)}
        if keys["error"] in present and (error := self._json(keys["error"])) is not None:
            return {**answer, **_refusal(error)}
        if keys["status"] in present and (status := self._json(keys["status"])) is not None:
            if status.get("state") == "failed" or status.get("limit"):
                return {**answer, **_refusal(status)}
            progress = {k: status.get(k) for k in ("rows_done", "rows_total", "chunks_done", "chunks_total")}
            return {**answer, "state": "scoring", "progress": progress}
        return answer

    def _links(self, name: str, keys: dict[str, str], present: set[str]) -> dict[str, Any]:
        csv_name = name.removesuffix(".gz").removesuffix(".csv") + ".scored.csv"
        links = {
            "csv": self._signed_get(keys["csv"], "text/csv", f'attachment; filename="{csv_name}"'),
            "expires_at": _utc(time.time() + LINK_EXPIRES_SECONDS),
        }
        if keys["report"] in present:
            links["report"] = self._signed_get(keys["report"], "text/html; charset=utf-8", "inline")
        return links

    def _signed_get(self, key: str, content_type: str, disposition: str) -> str:
        params = {
            "Bucket": self.bucket,
            "Key": key,
            "ResponseContentType": content_type,
            "ResponseContentDisposition": disposition,
        }
        return self.s3.generate_presigned_url("get_object", Params=params, ExpiresIn=LINK_EXPIRES_SECONDS)

    def _json(self, key: str) -> dict | None:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as error:
            if error.response["Error"]["Code"] in _MISSING:
                return None
            raise
        return json.loads(body)


def _refusal(document: dict) -> dict[str, Any]:
    """failed, or rejected when the file went over a limit (the document names it)."""
    limit = document.get("limit")
    state = "rejected" if limit else "failed"
    return {"state": state, "error": document.get("error") or "the file could not be scored", "limit": limit}
