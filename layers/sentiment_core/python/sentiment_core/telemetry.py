"""Inference with the metrics and trace every function reports the same way."""

from __future__ import annotations

import time

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from sentiment_core import settings
from sentiment_core.model import Prediction, SentimentModel

tracer = Tracer()


def record_predictions(metrics: Metrics, model: SentimentModel, texts: list[str]) -> list[Prediction]:
    """Run the model on texts and emit latency, volume, confidence and drift signals."""
    started = time.perf_counter()
    with tracer.provider.in_subsegment("## inference") as subsegment:
        predictions = model.predict(texts)
        subsegment.put_annotation("texts", len(texts))
    latency_ms = (time.perf_counter() - started) * 1000
    if not predictions:
        return predictions

    positives = sum(p.label == "positive" for p in predictions)
    metrics.add_metric(name="InferenceLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
    metrics.add_metric(name="PredictionsPositive", unit=MetricUnit.Count, value=positives)
    metrics.add_metric(name="PredictionsNegative", unit=MetricUnit.Count, value=len(predictions) - positives)
    metrics.add_metric(
        name="TokensProcessed", unit=MetricUnit.Count, value=sum(p.tokens for p in predictions)
    )
    metrics.add_metric(
        name="TruncatedInputs", unit=MetricUnit.Count, value=sum(p.truncated for p in predictions)
    )
    metrics.add_metric(
        name="LowConfidencePredictions",
        unit=MetricUnit.Count,
        value=sum(p.score < settings.LOW_CONFIDENCE_THRESHOLD for p in predictions),
    )
    # Drift signals: a shift in what users send moves these per-invocation averages.
    metrics.add_metric(
        name="PositiveShare", unit=MetricUnit.Percent, value=100 * positives / len(predictions)
    )
    metrics.add_metric(
        name="MeanConfidence",
        unit=MetricUnit.Percent,
        value=100 * sum(p.score for p in predictions) / len(predictions),
    )
    return predictions
