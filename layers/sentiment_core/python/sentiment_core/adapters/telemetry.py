"""Metrics and traces every function reports the same way, around the pure inference core."""

from __future__ import annotations

import os
import time
from pathlib import Path

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from sentiment_core.model import Prediction, SentimentModel

tracer = Tracer()


def record_prediction_metrics(
    metrics: Metrics, predictions: list[Prediction], latency_ms: float, low_confidence: float
) -> None:
    """Latency, volume, confidence and drift signals of one inference run."""
    if not predictions:
        return
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
        value=sum(p.score < low_confidence for p in predictions),
    )
    # Drift signals: a shift in what users send moves these per-run averages.
    metrics.add_metric(
        name="PositiveShare", unit=MetricUnit.Percent, value=100 * positives / len(predictions)
    )
    metrics.add_metric(
        name="MeanConfidence",
        unit=MetricUnit.Percent,
        value=100 * sum(p.score for p in predictions) / len(predictions),
    )


class MeteredModel:
    """The model as every path uses it: each `predict` traced, then its metrics recorded.

    The API, the worker and the CSV scorer (per chunk) all predict through it, so all three
    report the same signals.
    """

    def __init__(self, model: SentimentModel, metrics: Metrics, low_confidence: float) -> None:
        self.model, self.metrics, self.low_confidence = model, metrics, low_confidence
        self.name, self.version = model.name, model.version

    def predict(self, texts: list[str]) -> list[Prediction]:
        started = time.perf_counter()
        with tracer.provider.in_subsegment("## inference") as subsegment:
            predictions = self.model.predict(texts)
            subsegment.put_annotation("texts", len(texts))
        latency_ms = (time.perf_counter() - started) * 1000
        record_prediction_metrics(self.metrics, predictions, latency_ms, self.low_confidence)
        return predictions


def tag_invocation(metrics: Metrics, model: SentimentModel) -> None:
    """Put the served artifact's sha256 on this invocation's EMF lines.

    A property, not a dimension: `model_version` stays the only model dimension, so dashboards and
    alarms keep their metric identities, while each metric line still names the exact artifact
    (and through it the registry entry) in CloudWatch Logs.
    """
    metrics.add_metadata(key="model_sha256", value=model.sha256)


_model_load_traced = False


def trace_model_load(model: SentimentModel) -> None:
    """Put the model load into the first invocation's trace as its own subsegment, with its real times.

    The model loads during init, when X-Ray has no segment to attach to; the cold start's
    first invocation carries it instead.
    """
    global _model_load_traced
    if _model_load_traced:
        return
    _model_load_traced = True
    subsegment = tracer.provider.begin_subsegment("## model_load")
    if subsegment is None:  # tracing disabled
        return
    subsegment.start_time = model.load_started_at
    subsegment.put_metadata("load_ms", vars(model.load_timings))
    tracer.provider.end_subsegment(end_time=model.load_finished_at)


def process_age_ms() -> float | None:
    """Milliseconds since this process started (Linux), i.e. the init time when called at the end of init."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return round((uptime - start_ticks / os.sysconf("SC_CLK_TCK")) * 1000, 1)


def log_model_ready(logger: Logger, model: SentimentModel) -> None:
    """One line at init: how long the process took to get here, and how the model load was spent."""
    logger.info(
        "model ready",
        extra={
            "init_ms": process_age_ms(),
            "threads": model.threads,
            "model_sha256": model.sha256,
            "manifest_sha256": model.manifest_sha256,
            "model_registry": model.registry["uri"] if model.registry else "repo",
            **vars(model.load_timings),
        },
    )
