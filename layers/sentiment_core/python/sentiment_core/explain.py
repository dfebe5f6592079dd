"""Why this score: each sentence's own sentiment and its contribution to the review's, by occlusion.

For a review split into spans (its sentences; more than MAX_SPANS are grouped into MAX_SPANS runs of
adjacent sentences), the model scores in one `predict` call:
- the review itself (the prediction a plain request gets),
- each span alone: its own label and score, about one more pass over the review's tokens in all,
- the review with each span left out: contribution = P(positive | review) - P(positive | without it),
  so a positive contribution pushed the review toward positive.

That is at most spans + 2 passes over the review's tokens. Every text runs alone through `predict`
(see model.py), so an explanation depends only on the text and the model, never on the path, the
batch or the thread count, and its figures are the served model's whatever that model is made of.

A span that no part of the model reads (inside the middle head+tail truncation drops from a long
review, with a transformer-only model; the blend's linear part reads every word piece) is marked
`read: false` and gets no contribution: leaving it out would shift the tail the model reads, and the
difference would be that shift's, not the span's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sentiment_core import sentences
from sentiment_core.model import Prediction

MAX_SPANS = 16
POSITIVE = "positive"
DIGITS = 6  # contributions are given to 6 decimals: a smaller push shows as 0 and pushed nowhere


class Explainable(Protocol):
    def predict(self, texts: list[str]) -> list[Prediction]: ...
    def unread_range(self, text: str) -> tuple[int, int] | None: ...


@dataclass(frozen=True)
class SentenceScore:
    start: int  # character offsets in the text as sent: text[start:end] is the span
    end: int
    label: str
    score: float  # probability of `label` for the span alone
    contribution: float | None  # None when the span is not read
    read: bool


@dataclass(frozen=True)
class Explanation:
    prediction: Prediction  # of the whole review, as a plain request gets it
    sentences: list[SentenceScore]

    def top(self, sign: int) -> SentenceScore | None:
        """The span that pushed most toward positive (sign 1) or negative (sign -1), if any did."""
        pushed = [
            s
            for s in self.sentences
            if s.contribution is not None and round(s.contribution * sign, DIGITS) > 0
        ]
        return max(pushed, key=lambda s: s.contribution * sign, default=None)


def spans(text: str, limit: int = MAX_SPANS) -> list[sentences.Span]:
    """The review's sentences, or `limit` runs of adjacent sentences (as even in count as can be)."""
    found = sentences.split(text)
    if len(found) <= limit:
        return found
    size, larger = divmod(len(found), limit)
    grouped, first = [], 0
    for index in range(limit):
        last = first + size + (index < larger)
        grouped.append((found[first][0], found[last - 1][1]))
        first = last
    return grouped


def _without(text: str, span: sentences.Span) -> str:
    return f"{text[: span[0]]} {text[span[1] :]}"


@dataclass(frozen=True)
class _Part:
    span: sentences.Span
    read: bool
    alone: int  # where the span alone, and the review without it, are in the predict call's texts
    without: int | None


@dataclass(frozen=True)
class _Plan:
    whole: int
    parts: list[_Part]

    def explanation(self, scored: list[Prediction]) -> Explanation:
        review = scored[self.whole]
        positive = review.probabilities[POSITIVE]
        return Explanation(
            prediction=review,
            sentences=[
                SentenceScore(
                    start=part.span[0],
                    end=part.span[1],
                    label=scored[part.alone].label,
                    score=scored[part.alone].score,
                    contribution=None
                    if part.without is None
                    else positive - scored[part.without].probabilities[POSITIVE],
                    read=part.read,
                )
                for part in self.parts
            ],
        )


def _is_read(span: sentences.Span, unread: tuple[int, int] | None) -> bool:
    return unread is None or not (unread[0] <= span[0] and span[1] <= unread[1])


def explain(model: Explainable, texts: list[str]) -> list[Explanation]:
    """Explanations in input order, from one `predict` call over every text they need."""
    index: dict[str, int] = {}  # each distinct text is scored once (a one-sentence review is its span)

    def ask(text: str) -> int:
        return index.setdefault(text, len(index))

    plans = []
    for text in texts:
        unread = model.unread_range(text)
        parts = []
        for span in spans(text):
            read = _is_read(span, unread)
            without = ask(_without(text, span)) if read else None
            parts.append(_Part(span, read, ask(text[span[0] : span[1]]), without))
        plans.append(_Plan(ask(text), parts))
    scored = model.predict(list(index))
    return [plan.explanation(scored) for plan in plans]


# What an explained CSV adds after label, score and error: the sentence that pushed the row's score
# most toward each side, with its contribution (empty where no sentence pushed that way).
CSV_COLUMNS = (
    "top_positive_sentence",
    "top_positive_contribution",
    "top_negative_sentence",
    "top_negative_contribution",
)


def csv_cells(text: str, explanation: Explanation | None) -> list[str]:
    """The CSV_COLUMNS cells of one row (all empty for a row that was not scored)."""
    cells = []
    for sign in (1, -1):
        top = explanation.top(sign) if explanation else None
        cells += [text[top.start : top.end], f"{top.contribution:.{DIGITS}f}"] if top else ["", ""]
    return cells
