"""Async job state: the record in DynamoDB, the texts and results as S3 objects.

DynamoDB holds the small, frequently read and conditionally updated status;
S3 holds payloads of up to 1,000 x 20,000 characters, past DynamoDB's 400 KB
item and SQS's 1 MB message limits. The queue message carries only the job id.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from sentiment_core.settings import Settings

JOB_TTL_SECONDS = 7 * 24 * 3600
_to_dynamodb, _from_dynamodb = TypeSerializer().serialize, TypeDeserializer().deserialize


def _typed(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _to_dynamodb(value) for name, value in values.items()}


class JobStore:
    def __init__(self, table_name: str, bucket: str, queue_url: str = "") -> None:
        self.table_name, self.bucket, self.queue_url = table_name, bucket, queue_url

    @classmethod
    def from_settings(cls, settings: Settings) -> JobStore:
        return cls(settings.jobs_table, settings.data_bucket, settings.jobs_queue_url)

    # Clients are made on first use and then reused for the life of the execution environment; the
    # worker hands this one to its idempotency layer too.
    # DynamoDB through its client, not boto3's resource layer: the resource costs ~35 ms more at start.
    @functools.cached_property
    def dynamodb(self):
        return boto3.client("dynamodb")

    @functools.cached_property
    def _s3(self):
        return boto3.client("s3")

    @functools.cached_property
    def _sqs(self):
        return boto3.client("sqs")

    @staticmethod
    def request_key(job_id: str) -> str:
        return f"jobs/{job_id}/request.json"

    @staticmethod
    def result_key(job_id: str) -> str:
        return f"jobs/{job_id}/result.json"

    def submit(self, texts: list[str], explain: bool = False) -> str:
        """Store the texts (and whether to explain them), record the job as queued, then enqueue it."""
        job_id = str(uuid.uuid4())
        now = int(time.time())
        self._s3.put_object(
            Bucket=self.bucket,
            Key=self.request_key(job_id),
            Body=json.dumps({"texts": texts, "explain": explain}).encode(),
            ContentType="application/json",
        )
        self.dynamodb.put_item(
            TableName=self.table_name,
            Item=_typed(
                {
                    "job_id": job_id,
                    "status": "queued",
                    "texts": len(texts),
                    "created_at": now,
                    "expires_at": now + JOB_TTL_SECONDS,
                }
            ),
            ConditionExpression="attribute_not_exists(job_id)",
        )
        try:
            self._sqs.send_message(
                QueueUrl=self.queue_url, MessageBody=json.dumps({"job_id": job_id, "submitted_at": now})
            )
        except ClientError:
            self.mark_failed(job_id, "the job could not be queued; submit it again")
            raise
        return job_id

    def get(self, job_id: str) -> dict[str, Any] | None:
        item = self.dynamodb.get_item(TableName=self.table_name, Key=_typed({"job_id": job_id})).get("Item")
        return {name: _from_dynamodb(value) for name, value in item.items()} if item else None

    def load_texts(self, job_id: str) -> list[str]:
        return self.load_request(job_id)["texts"]

    def load_request(self, job_id: str) -> dict[str, Any]:
        """{"texts": [...], "explain": bool}; a job queued before `explain` existed has no such key."""
        body = self._s3.get_object(Bucket=self.bucket, Key=self.request_key(job_id))["Body"].read()
        return json.loads(body)

    def load_result(self, job_id: str) -> dict[str, Any]:
        body = self._s3.get_object(Bucket=self.bucket, Key=self.result_key(job_id))["Body"].read()
        return json.loads(body)

    def complete(self, job_id: str, result: dict[str, Any]) -> None:
        """Write the result, then flip the status: a reader never sees `done` without its result."""
        self._s3.put_object(
            Bucket=self.bucket,
            Key=self.result_key(job_id),
            Body=json.dumps(result).encode(),
            ContentType="application/json",
        )
        self._finish(
            job_id, "SET #s = :done, completed_at = :now", "attribute_exists(job_id)", {":done": "done"}
        )

    def mark_failed(self, job_id: str, reason: str) -> None:
        try:
            self._finish(
                job_id,
                "SET #s = :failed, reason = :reason, completed_at = :now",
                "attribute_exists(job_id) AND #s <> :done",
                {":failed": "failed", ":done": "done", ":reason": reason},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def _finish(self, job_id: str, update: str, condition: str, values: dict[str, Any]) -> None:
        """Set the job's final status (and `completed_at`), if `condition` holds."""
        self.dynamodb.update_item(
            TableName=self.table_name,
            Key=_typed({"job_id": job_id}),
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=_typed({**values, ":now": int(time.time())}),
        )
