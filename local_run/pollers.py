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


OPERATORS = {
    "<": float.__lt__,
    "<=": float.__le__,
    "=": float.__eq__,
    ">=": float.__ge__,
    ">": float.__gt__,
}


def _matches_value(matchers: list, value: object) -> bool:
    for matcher in matchers:
        if isinstance(matcher, dict) and "wildcard" in matcher:
            if isinstance(value, str) and fnmatch.fnmatchcase(value, matcher["wildcard"]):
                return True
        elif isinstance(matcher, dict) and "numeric" in matcher:
            pairs = zip(matcher["numeric"][::2], matcher["numeric"][1::2], strict=True)
            if isinstance(value, int | float) and all(
                OPERATORS[op](float(value), float(bound)) for op, bound in pairs
            ):
                return True
        elif matcher == value:
            return True
    return False


def matches(pattern: dict, event: dict) -> bool:
    """EventBridge's matching, for the parts the start rules use: literals, wildcard, numeric."""
    for name, wanted in pattern.items():
        if name not in event:
            return False
        if isinstance(wanted, dict):
            if not isinstance(event[name], dict) or not matches(wanted, event[name]):
                return False
        elif not _matches_value(wanted, event[name]):
            return False
    return True


# S3 notification event names -> the "reason" of EventBridge's Object Created event for the same upload.
CREATED_REASONS = {
    "ObjectCreated:Put": "PutObject",
    "ObjectCreated:Post": "PostObject",  # a browser's upload with a presigned POST form (POST /files)
    "ObjectCreated:Copy": "CopyObject",
    "ObjectCreated:CompleteMultipartUpload": "CompleteMultipartUpload",
}


def object_created(record: dict) -> dict:
    """The "Object Created" event S3 sends EventBridge for the upload an S3 notification record describes."""
    obj = record["s3"]["object"]
    return {
        "version": "0",
        "id": hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:36],
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": record.get("eventTime", ""),
        "region": record.get("awsRegion", ""),
        "resources": [f"arn:aws:s3:::{record['s3']['bucket']['name']}"],
        "detail": {
            "version": "0",
            "bucket": {"name": record["s3"]["bucket"]["name"]},
            "object": {
                "key": unquote_plus(obj["key"]),
                "size": obj.get("size", 0),
                "etag": obj.get("eTag", ""),
                "sequencer": obj.get("sequencer", ""),
            },
            "reason": CREATED_REASONS.get(record.get("eventName", ""), "PutObject"),
        },
    }


class UploadRouter(Poller):
    """S3 -> EventBridge -> the start rules: each upload goes where the template's rules send it.

    FanoutStartRule starts one execution of the fan-out, named from the upload (key, S3's sequencer
    and the event's time: moto's sequencer is one constant) so an event delivered twice starts one
    execution, as EventBridge's at-least-once delivery requires, and an upload of the key again
    starts its own. BatchStartRule invokes the batch function asynchronously, retried as
    `EventInvokeConfig` retries an asynchronous invocation (not at all, as deployed).
    """

    def __init__(
        self,
        queue_url: str,
        state_machine_arn: str,
        batch: Handler,
        patterns: dict[str, dict],
        batch_retries: int,
        failure_queue_url: str = "",
    ) -> None:
        super().__init__(queue_url, self._route, "upload-router", batch_size=10)
        self.sfn, self.state_machine_arn = boto3.client("stepfunctions"), state_machine_arn
        self.batch, self.batch_retries, self.failure_queue_url = batch, batch_retries, failure_queue_url
        self.patterns = patterns  # "fanout" and "batch": the start rules' event patterns

    def _route(self, event: dict, context: object) -> None:
        for record in event.get("Records", []):
            created = object_created(record)
            if matches(self.patterns["fanout"], created):
                self._start_execution(created["detail"], created["time"])
            if matches(self.patterns["batch"], created):
                threading.Thread(target=self._invoke_batch, args=(created,), daemon=True).start()

    def _start_execution(self, detail: dict, time: str) -> None:
        key = detail["object"]["key"]
        upload = f"{key}\0{detail['object']['sequencer']}\0{time}".encode()
        try:
            self.sfn.start_execution(
                stateMachineArn=self.state_machine_arn,
                name=hashlib.sha256(upload).hexdigest()[:64],
                input=json.dumps({"bucket": detail["bucket"]["name"], "key": key}),
            )
        except self.sfn.exceptions.ExecutionAlreadyExists:
            log.info("already started for %s", key)

    def _invoke_batch(self, event: dict) -> None:
        for attempt in range(1 + self.batch_retries):
            try:
                self.batch(event, LocalLambdaContext(function_name="batch", timeout_s=900))
                return
            except Exception as error:
                log.exception(
                    "batch: attempt %d for %s failed", attempt + 1, event["detail"]["object"]["key"]
                )
                failure = error
        log.error("batch: %s failed every attempt: to BatchFailureQueue", event["detail"]["object"]["key"])
        if self.failure_queue_url:  # what Lambda's on-failure destination sends, in its shape
            record = {
                "version": "1.0",
                "requestContext": {
                    "condition": "RetriesExhausted",
                    "approximateInvokeCount": 1 + self.batch_retries,
                },
                "requestPayload": event,
                "responsePayload": {
                    "errorType": getattr(failure, "error_type", type(failure).__name__),
                    "errorMessage": str(failure),
                },
            }
            self.sqs.send_message(QueueUrl=self.failure_queue_url, MessageBody=json.dumps(record))

    def deliver(self, messages: list[dict]) -> None:
        for message in messages:
            event = json.loads(message["Body"])
            if event.get("Event") != "s3:TestEvent":  # sent once when the notification is configured
                self.invoke(event)
            self.delete([message])
