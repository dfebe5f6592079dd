"""Job worker: scores queued jobs from SQS, one message per job, failures reported per message."""

from __future__ import annotations

import json
import os
import time

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.events import publish
from sentiment_core.jobs import JobStore
from sentiment_core.model import get_model
from sentiment_core.responses import model_info, prediction_out
from sentiment_core.telemetry import log_model_ready, record_predictions, tag_invocation, trace_model_load

logger = Logger(service="worker")
tracer = Tracer(service="worker")
metrics = Metrics(service="worker")
processor = BatchProcessor(event_type=EventType.SQS)

# Must equal the queue's redrive maxReceiveCount: the last attempt records why the job failed.
MAX_RECEIVE_COUNT = int(os.environ.get("MAX_RECEIVE_COUNT", "3"))

model = get_model()
store = JobStore.from_environment()
idempotency = IdempotencyConfig(expires_after_seconds=24 * 3600)
persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])
metrics.set_default_dimensions(model_version=model.version)
logger.append_keys(model_version=model.version)
log_model_ready(logger, model)


@idempotent_function(data_keyword_argument="job_id", config=idempotency, persistence_store=persistence)
def score_job(job_id: str) -> dict:
    """Score a job once: a redelivered message returns the stored outcome instead of scoring again."""
    texts = store.load_texts(job_id)
    predictions = record_predictions(metrics, model, texts)
    info = model_info(model).model_dump()
    store.complete(
        job_id,
        {"model": info, "predictions": [prediction_out(p).model_dump() for p in predictions]},
    )
    publish(
        "Job done", {"job_id": job_id, "texts": len(texts), "output": store.result_key(job_id), "model": info}
    )
    return {"job_id": job_id, "texts": len(texts)}


@tracer.capture_method(capture_response=False)
def record_handler(record: SQSRecord) -> None:
    message = json.loads(record.body)  # a malformed message fails here, alone, and ends in the DLQ
    job_id = message["job_id"]
    with logger.append_context_keys(job_id=job_id):
        try:
            score_job(job_id=job_id)
        except Exception as error:
            logger.exception("job failed", extra={"attempt": record.attributes.approximate_receive_count})
            if int(record.attributes.approximate_receive_count) >= MAX_RECEIVE_COUNT:
                reason = f"scoring failed after {MAX_RECEIVE_COUNT} attempts ({type(error).__name__})"
                store.mark_failed(job_id, reason)
                publish("Job failed", {"job_id": job_id, "error": reason})
                metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)
            raise
    metrics.add_metric(name="JobsCompleted", unit=MetricUnit.Count, value=1)
    metrics.add_metric(
        name="QueueToDoneLatency",
        unit=MetricUnit.Milliseconds,
        value=time.time() * 1000 - int(record.attributes.sent_timestamp),
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    trace_model_load(model)
    tag_invocation(metrics, model)
    idempotency.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
