"""Shadow scoring's contract: the message a sampled /predict request becomes, and how the candidate's
answers are compared with the live ones. Pure: the API sends (adapters/shadow_queue.py), the shadow
function scores (functions/shadow/app.py).

The message carries the texts only to the shadow function, through an encrypted queue that keeps
them an hour at most; nothing downstream stores or logs them.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field

from sentiment_core.model import Prediction

FORMAT = 1
POSITIVE = "positive"


class BadMessage(ValueError):
    """Not a shadow message this code can compare; the message says what is wrong (never the texts)."""


@dataclass(frozen=True)
class LiveAnswer:
    label: str
    p_positive: float


@dataclass(frozen=True)
class Request:
    live_version: str
    texts: list[str]
    live: list[LiveAnswer]
    sent_at_ms: int


def encode(texts: list[str], predictions: list[Prediction], live_version: str) -> str:
    """The message body for a request the live model answered with `predictions`."""
    return json.dumps(
        {
            "format": FORMAT,
            "live_version": live_version,
            "sent_at_ms": int(time.time() * 1000),
            "texts": texts,
            "live": [{"label": p.label, "p_positive": p.probabilities[POSITIVE]} for p in predictions],
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def decode(body: str) -> Request:
    try:
        message = json.loads(body)
        if message.get("format") != FORMAT:
            raise BadMessage(f"format {message.get('format')!r}, expected {FORMAT}")
        texts, live = message["texts"], message["live"]
        answers = [LiveAnswer(str(a["label"]), float(a["p_positive"])) for a in live]
        request = Request(str(message["live_version"]), texts, answers, int(message["sent_at_ms"]))
    except BadMessage:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise BadMessage(f"malformed shadow message ({type(error).__name__}: {error})") from None
    if not texts or not all(isinstance(t, str) for t in texts) or len(texts) != len(answers):
        raise BadMessage(f"{len(texts)} texts but {len(answers)} live answers")
    if not all(math.isfinite(a.p_positive) for a in answers):
        raise BadMessage("a live probability is not finite")
    return request


@dataclass
class Comparison:
    """Live against candidate over any number of requests of one live version."""

    texts: int = 0
    agreed: int = 0
    abs_change: float = 0.0  # summed |P_candidate(positive) - P_live(positive)|
    flips_to_positive: int = 0
    flips_to_negative: int = 0
    latency_ms: list[float] = field(default_factory=list)  # the candidate's, one per request

    def add(self, live: list[LiveAnswer], candidate: list[Prediction], latency_ms: float) -> None:
        for old, new in zip(live, candidate, strict=True):
            self.texts += 1
            self.agreed += old.label == new.label
            self.abs_change += abs(new.probabilities[POSITIVE] - old.p_positive)
            self.flips_to_positive += old.label != POSITIVE and new.label == POSITIVE
            self.flips_to_negative += old.label == POSITIVE and new.label != POSITIVE
        self.latency_ms.append(latency_ms)

    @property
    def agreement_percent(self) -> float:
        return 100 * self.agreed / self.texts if self.texts else 100.0

    @property
    def mean_change_points(self) -> float:
        """Mean |change| of P(positive), in percentage points."""
        return 100 * self.abs_change / self.texts if self.texts else 0.0
