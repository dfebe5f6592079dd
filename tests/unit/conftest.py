"""Helpers that deliver events as Lambda does (the moto fixtures are in tests/conftest.py)."""

from __future__ import annotations

import json

import boto3
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from local_run.lambda_context import LocalLambdaContext
from local_run.pollers import sqs_event
from local_run.resources import Resources


def context(name: str, timeout_s: int = 900) -> LocalLambdaContext:
    return LocalLambdaContext(function_name=name, timeout_s=timeout_s)


def receive(queue_url: str, max_messages: int = 10) -> list[dict]:
    return (
        boto3.client("sqs")
        .receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=max_messages,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        .get("Messages", [])
    )


def run_worker(worker, queue_url: str, messages: list[dict]) -> set[str]:
    """Invoke the worker with the messages as one SQS event; delete the successes; return failed ids."""
    event = sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:jobs", "us-east-1")
    try:
        response = worker.lambda_handler(event, context("worker"))
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    except BatchProcessingError:  # every record failed: the invocation fails and all messages return
        failed = {m["MessageId"] for m in messages}
    sqs = boto3.client("sqs")
    for m in messages:
        if m["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    return failed


def drain(queue_url: str) -> None:
    sqs = boto3.client("sqs")
    while messages := receive(queue_url):
        for m in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])


def s3_events(resources: Resources) -> list[dict]:
    """The S3 notifications the bucket sent (moto delivers them to the batch queue), test event skipped."""
    events = []
    while messages := receive(resources.batch_queue_url):
        for m in messages:
            boto3.client("sqs").delete_message(
                QueueUrl=resources.batch_queue_url, ReceiptHandle=m["ReceiptHandle"]
            )
            body = json.loads(m["Body"])
            if body.get("Event") != "s3:TestEvent":
                events.append(body)
    return events
