"""Shadow function: scores sampled live requests with the candidate model and publishes how its answers
compare with the live ones. It stores nothing and logs no text; what it finds is metrics only.

A message that cannot be scored fails alone (ReportBatchItemFailures); the queue's redrive policy sends
it to the dead-letter queue after its second receive, so nothing is retried forever, and the live path
never waits on any of this.
"""

from __future__ import annotations

import time
from collections import defaultdict

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.shadow.candidate import load_candidate
from sentiment_core import shadow
from sentiment_core.adapters.startup import start

NAME = "shadow"
service = start(NAME, load_candidate)  # its metrics and logs name the candidate's version
logger, tracer, metrics, candidate = service.logger, service.tracer, service.metrics, service.model
processor = BatchProcessor(event_type=EventType.SQS)
comparisons: dict[str, shadow.Comparison] = defaultdict(shadow.Comparison)  # live version -> this batch's
failures: list[str] = []  # this batch's failed records, by error type


@tracer.capture_method(capture_response=False)
def record_handler(record: SQSRecord) -> None:
    try:
        request = shadow.decode(record.body)
        started = time.perf_counter()
        predictions = candidate.predict(request.texts)
        latency_ms = (time.perf_counter() - started) * 1000
    except Exception as error:
        # Only the error's type and the attempt: the message's text must not reach the logs.
        logger.warning(
            "shadow scoring failed",
            extra={"error": type(error).__name__, "attempt": record.attributes.approximate_receive_count},
        )
        failures.append(type(error).__name__)
        raise
    comparisons[request.live_version].add(request.live, predictions, latency_ms)


def publish(comparison: shadow.Comparison, live_version: str) -> None:
    """One EMF document per live version: {service, model_version, live_version} is the only dimension set."""
    metrics.add_dimension(name="live_version", value=live_version)
    metrics.add_metric(name="ShadowTexts", unit=MetricUnit.Count, value=comparison.texts)
    metrics.add_metric(name="ShadowAgreement", unit=MetricUnit.Percent, value=comparison.agreement_percent)
    metrics.add_metric(
        name="ShadowProbabilityChange", unit=MetricUnit.Percent, value=comparison.mean_change_points
    )
    metrics.add_metric(
        name="ShadowFlipsToPositive", unit=MetricUnit.Count, value=comparison.flips_to_positive
    )
    metrics.add_metric(
        name="ShadowFlipsToNegative", unit=MetricUnit.Count, value=comparison.flips_to_negative
    )
    for latency in comparison.latency_ms:
        metrics.add_metric(name="ShadowLatency", unit=MetricUnit.Milliseconds, value=latency)
    metrics.flush_metrics()


@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
@logger.inject_lambda_context()
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    comparisons.clear()
    failures.clear()
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    for live_version, comparison in comparisons.items():
        publish(comparison, live_version)
    if failures:  # flushed by log_metrics, without live_version: a message that failed may have none
        metrics.add_metric(name="ShadowScoringErrors", unit=MetricUnit.Count, value=len(failures))
    return response
