"""The live side of shadow scoring: a sampled /predict request, already answered, goes to the queue.

Nothing here may change or fail the live answer: every error is caught, logged without the texts and
counted (ShadowSendErrors), and the client's timeouts are short so a slow queue costs a request at
most about a second, once.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from sentiment_core import shadow
from sentiment_core.model import Prediction
from sentiment_core.settings import Settings

log = logging.getLogger(__name__)
MAX_MESSAGE_BYTES = 256 * 1024  # SQS's message size limit; a larger request is skipped, and counted


def _client() -> Any:
    import boto3  # only where shadowing is on
    from botocore.config import Config

    config = Config(connect_timeout=0.5, read_timeout=1, retries={"max_attempts": 1, "mode": "standard"})
    return boto3.client("sqs", config=config)


class ShadowSender:
    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        client: Any = None,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.queue_url = settings.shadow_queue_url
        self.rate = settings.shadow_sample_rate if self.queue_url else 0.0
        self.metrics, self._draw = metrics, draw
        # Made at init, not on the first sampled request: that request would pay for it.
        self._sqs = client if client is not None or not self.enabled else _client()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def offer(self, texts: list[str], predictions: list[Prediction], live_version: str) -> bool:
        """Send this answered request to the shadow if it is sampled; True when it was sent. Never raises."""
        if not self.enabled or self._draw() >= self.rate:
            return False
        try:
            body = shadow.encode(texts, predictions, live_version)
            if len(body.encode()) > MAX_MESSAGE_BYTES:
                self.metrics.add_metric(name="ShadowSkippedTooLarge", unit=MetricUnit.Count, value=1)
                return False
            self._sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)
        except Exception as error:  # the live answer is already made: it must go out whatever happens here
            log.warning("shadow send failed: %s", type(error).__name__)
            self.metrics.add_metric(name="ShadowSendErrors", unit=MetricUnit.Count, value=1)
            return False
        self.metrics.add_metric(name="ShadowRequestsSent", unit=MetricUnit.Count, value=1)
        return True
