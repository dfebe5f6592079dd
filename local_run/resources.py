"""The AWS resources template.yaml defines, created on the local endpoint (moto)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import boto3

MAX_RECEIVE_COUNT = 3  # as the template's redrive policy


@dataclass(frozen=True)
class Resources:
    bucket: str = "imdb-sentiment-local"
    jobs_table: str = "imdb-sentiment-jobs"
    idempotency_table: str = "imdb-sentiment-idempotency"
    jobs_queue_url: str = ""
    jobs_dlq_url: str = ""
    batch_queue_url: str = ""
    # The model registry (the pipeline stack's ArtifactsBucket in AWS), to try `make publish-model` on.
    artifacts_bucket: str = "imdb-sentiment-artifacts-local"

    def environment(self) -> dict[str, str]:
        """The variables the template gives the functions."""
        return {
            "DATA_BUCKET": self.bucket,
            "JOBS_TABLE": self.jobs_table,
            "IDEMPOTENCY_TABLE": self.idempotency_table,
            "JOBS_QUEUE_URL": self.jobs_queue_url,
            "MAX_RECEIVE_COUNT": str(MAX_RECEIVE_COUNT),
        }


def create_resources(visibility_timeout: int = 5) -> Resources:
    """Bucket, tables, queues (with DLQ) and the bucket's incoming/*.csv notification."""
    names = Resources()
    s3, sqs, dynamodb = boto3.client("s3"), boto3.client("sqs"), boto3.client("dynamodb")
    s3.create_bucket(Bucket=names.bucket)
    # As the template's DataBucket: an overwritten or deleted file keeps its previous version.
    s3.put_bucket_versioning(Bucket=names.bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.create_bucket(Bucket=names.artifacts_bucket)
    s3.put_bucket_versioning(Bucket=names.artifacts_bucket, VersioningConfiguration={"Status": "Enabled"})
    for table, key in ((names.jobs_table, "job_id"), (names.idempotency_table, "id")):
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    dlq_url = sqs.create_queue(QueueName="imdb-sentiment-jobs-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    jobs_url = sqs.create_queue(
        QueueName="imdb-sentiment-jobs",
        Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
            ),
        },
    )["QueueUrl"]
    # Lambda is S3's target in AWS; here S3 notifies a queue that a poller drains into the same handler.
    batch_url = sqs.create_queue(
        QueueName="imdb-sentiment-batch-events",
        Attributes={"VisibilityTimeout": str(visibility_timeout * 12)},
    )["QueueUrl"]
    batch_arn = sqs.get_queue_attributes(QueueUrl=batch_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    s3.put_bucket_notification_configuration(
        Bucket=names.bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": batch_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {
                        "Key": {
                            "FilterRules": [
                                {"Name": "prefix", "Value": "incoming/"},
                                {"Name": "suffix", "Value": ".csv"},
                            ]
                        }
                    },
                }
            ],
        },
    )
    return Resources(
        names.bucket,
        names.jobs_table,
        names.idempotency_table,
        jobs_url,
        dlq_url,
        batch_url,
        names.artifacts_bucket,
    )
