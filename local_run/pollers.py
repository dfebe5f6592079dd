"""What Lambda's event source mappings do in AWS: poll SQS and hand the events to the handlers."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
import threading
from collections.abc import Callable
from urllib.parse import unquote_plus

import boto3

from local_run.lambda_context import LocalLambdaContext

log = logging.getLogger(__name__)
Handler = Callable[[dict, object], dict]


def sqs_event(messages: list[dict], queue_arn: str, region: str) -> dict:
    """The SQS event Lambda builds from received messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {
                    name: {
                        "stringValue": a.get("StringValue"),
                        "binaryValue": a.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": a["DataType"],
                    }
                    for name, a in m.get("MessageAttributes", {}).items()
                },
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


class Poller(threading.Thread):
    def __init__(self, queue_url: str, handler: Handler, function_name: str, batch_size: int = 10) -> None:
        super().__init__(name=f"poller-{function_name}", daemon=True)
        self.queue_url, self.handler, self.function_name = queue_url, handler, function_name
        self.batch_size = batch_size
        self.sqs = boto3.client("sqs")
        self.queue_arn = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                messages = self.sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=self.batch_size,
                    WaitTimeSeconds=1,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                if messages:
                    self.deliver(messages)
            except Exception:
                if not self._stopping.is_set():
                    log.exception("%s: poll failed", self.function_name)
                    self._stopping.wait(1)

    def invoke(self, event: dict) -> dict:
        return self.handler(event, LocalLambdaContext(function_name=self.function_name, timeout_s=900))

    def delete(self, messages: list[dict]) -> None:
        for m in messages:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])

    def deliver(self, messages: list[dict]) -> None:
        raise NotImplementedError


class SqsPoller(Poller):
    """SQS -> function with ReportBatchItemFailures: only the failed messages come back."""

    def deliver(self, messages: list[dict]) -> None:
        try:
            response = self.invoke(sqs_event(messages, self.queue_arn, self.sqs.meta.region_name))
        except Exception:
            log.exception("%s raised: the whole batch returns to the queue", self.function_name)
            return
        failed = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
        self.delete([m for m in messages if m["MessageId"] not in failed])


class ExecutionStarter(Poller):
    """S3 -> EventBridge -> Step Functions: one execution of the fan-out per uploaded CSV.

    The execution's name is derived from the upload (key and S3's sequencer), so an event delivered
    twice starts one execution, as EventBridge's at-least-once delivery requires.
    """

    def __init__(self, queue_url: str, state_machine_arn: str, key_patterns: list[str]) -> None:
        super().__init__(queue_url, self._start, "csv-fanout", batch_size=10)
        self.sfn, self.state_machine_arn = boto3.client("stepfunctions"), state_machine_arn
        self.key_patterns = key_patterns  # the start rule's wildcards, as EventBridge matches them

    def _start(self, event: dict, context: object) -> None:
        for record in event.get("Records", []):
            bucket = record["s3"]["bucket"]["name"]
            key = unquote_plus(record["s3"]["object"]["key"])
            if not any(fnmatch.fnmatchcase(key, pattern) for pattern in self.key_patterns):
                continue
            upload = f"{key}\0{record['s3']['object'].get('sequencer', '')}".encode()
            try:
                self.sfn.start_execution(
                    stateMachineArn=self.state_machine_arn,
                    name=hashlib.sha256(upload).hexdigest()[:64],
                    input=json.dumps({"bucket": bucket, "key": key}),
                )
            except self.sfn.exceptions.ExecutionAlreadyExists:
                log.info("already started for %s", key)

    def deliver(self, messages: list[dict]) -> None:
        for message in messages:
            event = json.loads(message["Body"])
            if event.get("Event") != "s3:TestEvent":  # sent once when the notification is configured
                self.invoke(event)
            self.delete([message])
