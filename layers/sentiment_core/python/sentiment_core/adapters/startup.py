"""One start-up for every model-serving handler: its settings, logger, tracer, metrics and model.

service = start("api")

@service.handler(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event, context): ...
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

from sentiment_core.adapters.telemetry import (
    MeteredModel,
    log_model_ready,
    make_tracer,
    tag_invocation,
    trace_model_load,
)
from sentiment_core.model import SentimentModel, get_model
from sentiment_core.settings import Settings, current

Handler = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class Service:
    settings: Settings
    logger: Logger
    tracer: Tracer
    metrics: Metrics
    model: SentimentModel
    scorer: MeteredModel  # the model, each prediction traced and its metrics recorded

    def handler(self, correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
        """The common stack: request id in the logs, the trace, metrics flushed (with the cold start),
        and the model load and served artifact on the first and every invocation."""

        def decorate(handler: Handler) -> Handler:
            @functools.wraps(handler)
            def tagged(event: Any, context: Any) -> Any:
                trace_model_load(self.tracer, self.model)
                tag_invocation(self.metrics, self.model)
                return handler(event, context)

            wrapped = self.metrics.log_metrics(capture_cold_start_metric=True)(tagged)
            wrapped = self.tracer.capture_lambda_handler(capture_response=False)(wrapped)
            return self.logger.inject_lambda_context(correlation_id_path=correlation_id_path)(wrapped)

        return decorate


def start(name: str, load: Callable[[Settings], SentimentModel] | None = None) -> Service:
    """Read the settings and load the model (`load`: the shadow function loads its candidate) at init:
    the first request pays nothing, and a broken artifact fails the init (and with it the deployment's
    PreTraffic hook)."""
    settings = current()
    logger, tracer, metrics = Logger(service=name), make_tracer(name), Metrics(service=name)
    model = (load or get_model)(settings)  # looked up at each start: tests serve a fake in its place
    metrics.set_default_dimensions(model_version=model.version)
    logger.append_keys(model_version=model.version)
    log_model_ready(logger, model)
    scorer = MeteredModel(model, metrics, tracer, settings.low_confidence_threshold)
    return Service(settings, logger, tracer, metrics, model, scorer)
