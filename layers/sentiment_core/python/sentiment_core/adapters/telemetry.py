"""Metrics and traces every function reports the same way, around the pure inference core."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

from sentiment_core.explain import Explanation, explain
from sentiment_core.model import Prediction, SentimentModel


class _NoSegment(BaseSegment):
    def close(self, end_time: int | None = None) -> None: ...
    def add_subsegment(self, subsegment: Any) -> None: ...
    def remove_subsegment(self, subsegment: Any) -> None: ...
    def put_annotation(self, key: str, value: Any) -> None: ...
    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None: ...
    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None: ...


class NoTraceProvider(BaseProvider):
    """The Powertools tracing provider where no trace is collected (outside Lambda, or tracing off).

    Powertools' default provider imports the X-Ray SDK, and botocore with it, even when tracing is
    disabled: about 0.18 s of CPU, the largest part of a cold start after the model itself.
    """

    @contextlib.contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Iterator[BaseSegment]:
        yield _NoSegment()

    @contextlib.asynccontextmanager
    async def in_subsegment_async(self, name: str | None = None, **kwargs: Any):
        yield _NoSegment()

    def put_annotation(self, key: str, value: Any) -> None: ...
    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None: ...
    def patch(self, modules: Any) -> None: ...
    def patch_all(self) -> None: ...

    def begin_subsegment(self, name: str) -> None:  # the X-Ray recorder's call, as trace_model_load makes it
        return None


def make_tracer(service: str) -> Tracer:
    """Powertools' tracer, on the X-Ray SDK only where Powertools would trace (its own rule decides)."""
    return Tracer(service=service, provider=NoTraceProvider() if Tracer._is_tracer_disabled() else None)


def record_prediction_metrics(
    metrics: Metrics,
    predictions: list[Prediction],
    latency_ms: float,
    low_confidence: float,
    explained: bool = False,
) -> None:
    """Latency, volume, confidence and drift signals of one inference run."""
    if not predictions:
        return
    positives = sum(p.label == "positive" for p in predictions)
    if explained:  # its own metric: the extra passes must not move the latency alarms
        metrics.add_metric(name="ExplainLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
    else:
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

    def __init__(
        self, model: SentimentModel, metrics: Metrics, tracer: Tracer, low_confidence: float
    ) -> None:
        self.model, self.metrics, self.tracer, self.low_confidence = model, metrics, tracer, low_confidence
        self.name, self.version = model.name, model.version

    def predict(self, texts: list[str]) -> list[Prediction]:
        started = time.perf_counter()
        with self.tracer.provider.in_subsegment("## inference") as subsegment:
            predictions = self.model.predict(texts)
            subsegment.put_annotation("texts", len(texts))
        latency_ms = (time.perf_counter() - started) * 1000
        record_prediction_metrics(self.metrics, predictions, latency_ms, self.low_confidence)
        return predictions

    def explain(self, texts: list[str]) -> list[Explanation]:
        """Explained predictions. The label, confidence and drift metrics count the reviews only, as
        for `predict`; the time goes to ExplainLatency, so the extra passes of an explanation (spans
        + 2 a review) never move InferenceLatency and the alarms on it."""
        started = time.perf_counter()
        with self.tracer.provider.in_subsegment("## explain") as subsegment:
            explanations = explain(self.model, texts)
            subsegment.put_annotation("texts", len(texts))
        latency_ms = (time.perf_counter() - started) * 1000
        predictions = [e.prediction for e in explanations]
        record_prediction_metrics(self.metrics, predictions, latency_ms, self.low_confidence, explained=True)
        self.metrics.add_metric(
            name="ExplainedSentences",
            unit=MetricUnit.Count,
            value=sum(len(e.sentences) for e in explanations),
        )
        return explanations


def tag_invocation(metrics: Metrics, model: SentimentModel) -> None:
    """Put the served artifact's sha256 on this invocation's EMF lines.

    A property, not a dimension: `model_version` stays the only model dimension, so dashboards and
    alarms keep their metric identities, while each metric line still names the exact artifact
    (and through it the registry entry) in CloudWatch Logs.
    """
    metrics.add_metadata(key="model_sha256", value=model.sha256)


_model_load_traced = False


def trace_model_load(tracer: Tracer, model: SentimentModel) -> None:
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
