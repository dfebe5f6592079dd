"""A deterministic stand-in for the ONNX model, for tests of what surrounds inference.

It scores by counting opinion words, so a test can say which label a text gets, and it loads in
no time: CSV, batch, job and validation tests run without onnxruntime in the loop.
"""

from __future__ import annotations

import math
import re
import time

from sentiment_core.model import LoadTimings, Prediction

POSITIVE = {
    "good",
    "great",
    "wonderful",
    "loved",
    "love",
    "best",
    "superb",
    "fun",
    "moving",
    "classic",
    "amazing",
}
NEGATIVE = {
    "bad",
    "boring",
    "dreadful",
    "terrible",
    "waste",
    "dull",
    "awful",
    "worst",
    "wooden",
    "badly",
    "hated",
}
MAX_WORDS = 254  # the served model's head+tail budget, in words here
HEAD_WORDS = 128


class FakeModel:
    name = "fake-sentiment"
    version = "0.0.0-test"
    sha256 = "f" * 64
    manifest_sha256 = "e" * 64
    registry = None
    threads = 1
    labels = ("negative", "positive")

    def __init__(self) -> None:
        self.load_started_at = self.load_finished_at = time.time()
        self.load_timings = LoadTimings(tokenizer_ms=0.0, linear_ms=0.0, session_ms=0.0, verify_ms=0.0)
        self.calls: list[int] = []  # texts per predict call

    def predict(self, texts: list[str]) -> list[Prediction]:
        self.calls.append(len(texts))
        return [self._one(text) for text in texts]

    def self_check(self) -> bool:
        return True

    @staticmethod
    def unread_range(text: str) -> tuple[int, int] | None:
        """The words between the first HEAD_WORDS and the last MAX_WORDS - HEAD_WORDS, as the model's."""
        words = list(re.finditer(r"\w+", text))
        if len(words) <= MAX_WORDS:
            return None
        return words[HEAD_WORDS].start(), words[len(words) - (MAX_WORDS - HEAD_WORDS) - 1].end()

    @staticmethod
    def _one(text: str) -> Prediction:
        words = re.findall(r"\w+", text.lower())
        opinion = sum(w in POSITIVE for w in words) - sum(w in NEGATIVE for w in words)
        # No opinion leans positive, as a tie must go somewhere; clamped so exp cannot overflow.
        positive = 1 / (1 + math.exp(-max(-30.0, min(30.0, opinion + 0.25))))
        probabilities = {"negative": 1 - positive, "positive": positive}
        label = max(probabilities, key=probabilities.get)
        return Prediction(
            label=label,
            score=probabilities[label],
            probabilities=probabilities,
            truncated=len(words) > MAX_WORDS,
            tokens=len(words),
        )
