"""Job worker: scores queued jobs from SQS, one message per job, failures reported per message."""

from __future__ import annotations

# First: the model loads in the background while the imports below run (see early_load).
import sentiment_core.adapters.early_load  # noqa: F401

# isort: split
import json
import time

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
from sentiment_core.adapters.jobs import JobStore
from sentiment_core.adapters.startup import start
from sentiment_core.responses import explained_fields, model_fields, prediction_fields

service = start("worker")
logger, tracer, metrics, model = service.logger, service.tracer, service.metrics, service.model
MAX_RECEIVE_COUNT = service.settings.max_receive_count
processor = BatchProcessor(event_type=EventType.SQS)
store = JobStore.from_settings(service.settings)
idempotency = IdempotencyConfig(expires_after_seconds=24 * 3600)
persistence = DynamoDBPersistenceLayer(
    table_name=service.settings.idempotency_table, boto3_client=store.dynamodb
)


@idempotent_function(data_keyword_argument="job_id", config=idempotency, persistence_store=persistence)
def score_job(job_id: str) -> dict:
    """Score a job once: a redelivered message returns the stored outcome instead of scoring again."""
    request = store.load_request(job_id)
    texts = request["texts"]
    if request.get("explain"):
        predictions = [explained_fields(e) for e in service.scorer.explain(texts)]
    else:
        predictions = [prediction_fields(p) for p in service.scorer.predict(texts)]
    info = model_fields(model)
    store.complete(job_id, {"model": info, "predictions": predictions})
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


@service.handler()
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    idempotency.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
