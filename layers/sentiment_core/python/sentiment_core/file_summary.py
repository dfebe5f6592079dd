"""What a scored file says, gathered row by row in bounded memory and merged exactly across chunks.

A FileAggregate holds counts, a histogram of P(positive), the most positive and most negative
reviews (in an explained file, each with its key sentence), per-value counts of the columns that
may group the file and per-period counts of the columns that may date it. Every part is a sum, a
bounded top-k with a total order, or a bounded set that gives up past a cap, so aggregating chunks
and merging them gives exactly what aggregating the whole file gives, whatever the chunk
boundaries: the fan-out's merge builds the report from these and never reads the scored rows
again. Which column groups or dates the file is decided only at the end (figures), from the
merged whole.
"""

from __future__ import annotations

import datetime as dt
import heapq
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sentiment_core.preprocess import clean_text

if TYPE_CHECKING:
    from sentiment_core.explain import Explanation
    from sentiment_core.model import Prediction

BINS = 20  # histogram of P(positive), 0.05 wide
UNCERTAIN = (0.4, 0.6)  # an answer this close to even is "uncertain"
TOP = 5
EXCERPT_CHARS = 300
MAX_COLUMNS = 32  # columns watched as possible group or date columns (beside the text column)
DETECTED_GROUPS = 20  # a detected grouping column has 2..20 distinct values
NAMED_GROUPS = 1000  # a column the uploader names may have more; past this it is not grouped
MAX_VALUE_CHARS = 100  # a longer cell is free text, not a category
MAX_PERIODS = 1000  # per-period buckets of a date column; past this, coarser periods
LEVELS = ("day", "month", "year")
MICRO = 1_000_000  # probabilities summed as integer millionths: exact in any order

_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$")
_DAY_MONTH = re.compile(r"^(\d{1,2})[ -]([A-Za-z]{3,9})\.?[ -,]+(\d{4})$")
_MONTH_DAY = re.compile(r"^([A-Za-z]{3,9})\.? (\d{1,2}),? (\d{4})$")
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}


def parse_date(value: str) -> dt.date | None:
    """ISO dates and date-times (2024-03-01, 2024/03/01, 2024-03-01T10:00:00Z), '1 Mar 2024' and
    'March 1, 2024'. Forms such as 03/01/2024 are left out: day and month cannot be told apart."""
    value = value.strip()
    try:
        if m := _ISO.match(value):
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        if m := _DAY_MONTH.match(value):
            return dt.date(int(m[3]), _MONTHS[m[2][:3].lower()], int(m[1]))
        if m := _MONTH_DAY.match(value):
            return dt.date(int(m[3]), _MONTHS[m[1][:3].lower()], int(m[2]))
    except (ValueError, KeyError):
        return None
    return None


def period(day: dt.date, level: str) -> str:
    return day.isoformat()[: {"day": 10, "month": 7, "year": 4}[level]]


def excerpt(text: str) -> str:
    """The review as the model reads it (HTML line breaks as spaces), cut at EXCERPT_CHARS."""
    text = clean_text(text)
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "\u2026"


def key_sentence(text: str, label: str, explanation: Explanation | None) -> list | None:
    """[sentence excerpt, contribution] of the sentence that pushed the review most toward its label
    (the row's top_positive_sentence for a positive review, top_negative_sentence for a negative one);
    None when the row was not explained or no sentence pushed that way."""
    top = explanation.top(1 if label == "positive" else -1) if explanation else None
    return None if top is None else [excerpt(text[top.start : top.end]), top.contribution]


def _add(counts: list[int], other: list[int]) -> None:
    for i, n in enumerate(other):
        counts[i] += n


@dataclass
class Column:
    """One watched column: its values' counts ([rows, scored, positives]) while few, and its
    per-period counts while every non-empty cell is a date. None: gave up (too many, or not dates)."""

    cap: int
    values: dict[str, list[int]] | None = field(default_factory=dict)
    periods: dict[str, list[int]] | None = field(default_factory=dict)
    level: str = "day"
    dated: int = 0  # non-empty cells, all dates while periods is not None

    def add(self, value: str, scored: int, positive: int) -> None:
        if self.values is not None:
            if len(value) > MAX_VALUE_CHARS:
                self.values = None
            else:
                _add(self.values.setdefault(value, [0, 0, 0]), [1, scored, positive])
                if len(self.values) > self.cap:
                    self.values = None
        if self.periods is not None and value.strip():
            day = parse_date(value)
            if day is None:
                self.periods = None
                return
            self.dated += 1
            _add(self.periods.setdefault(period(day, self.level), [0, 0, 0]), [1, scored, positive])
            if len(self.periods) > MAX_PERIODS:
                self._bound()

    def _bound(self) -> None:
        while self.periods is not None and len(self.periods) > MAX_PERIODS:
            if self.level == LEVELS[-1]:
                self.periods = None
                return
            self._coarsen(LEVELS[LEVELS.index(self.level) + 1])

    def _coarsen(self, level: str) -> None:
        width = {"day": 10, "month": 7, "year": 4}[level]
        coarser: dict[str, list[int]] = {}
        for key, counts in (self.periods or {}).items():
            _add(coarser.setdefault(key[:width], [0, 0, 0]), counts)
        self.periods, self.level = coarser, level

    def merge(self, other: Column) -> None:
        if self.values is not None and other.values is not None:
            for value, counts in other.values.items():
                _add(self.values.setdefault(value, [0, 0, 0]), counts)
            if len(self.values) > self.cap:
                self.values = None
        else:
            self.values = None
        if self.periods is not None and other.periods is not None:
            theirs = Column(self.cap, periods=dict(other.periods), level=other.level)
            level = max(self.level, other.level, key=LEVELS.index)
            self._coarsen(level)
            theirs._coarsen(level)
            for key, counts in (theirs.periods or {}).items():
                _add(self.periods.setdefault(key, [0, 0, 0]), counts)
            self.dated += other.dated
            self._bound()
        else:
            self.periods = None

    def as_dict(self) -> dict:
        return {
            "cap": self.cap,
            "values": self.values,
            "periods": self.periods,
            "level": self.level,
            "dated": self.dated,
        }


class FileAggregate:
    """Everything the report shows, for the rows seen so far. `add` is the scorer's observer."""

    def __init__(self, header: list[str], text_column: int, group_column: str | None = None) -> None:
        self.header, self.text_column, self.group_column = list(header), text_column, group_column
        self.rows = self.scored = self.positives = self.uncertain = self.micro_sum = 0
        self.errors: dict[str, int] = {}
        self.histogram = [0] * BINS
        # min-heaps of (key, row, probability, excerpt, key sentence): the key orders rows totally
        self.most_positive: list[tuple] = []
        self.most_negative: list[tuple] = []
        named = self.named_index()
        watched = [i for i in range(len(header)) if i != text_column][:MAX_COLUMNS]
        if named is not None and named not in watched:
            watched.append(named)
        self.columns = {i: Column(NAMED_GROUPS if i == named else DETECTED_GROUPS) for i in watched}

    def named_index(self) -> int | None:
        if not self.group_column:
            return None
        names = [h.strip().lower() for h in self.header]
        wanted = self.group_column.strip().lower()
        return names.index(wanted) if wanted in names else None

    def add(
        self,
        first_row: int,
        rows: list[list[str]],
        predictions: dict[int, Prediction],
        errors: list[str],
        explanations: dict[int, Explanation] | None = None,
    ) -> None:
        for i, cells in enumerate(rows):
            prediction = predictions.get(i)
            self.rows += 1
            if prediction is None:
                reason = error_reason(errors[i])
                self.errors[reason] = self.errors.get(reason, 0) + 1
                scored = positive = 0
            else:
                p = prediction.probabilities["positive"]
                scored, positive = 1, int(prediction.label == "positive")
                why = (explanations or {}).get(i)
                self._add_scored(first_row + i, p, prediction.label, cells[self.text_column], why)
            for index, column in self.columns.items():
                column.add(cells[index], scored, positive)

    def _add_scored(self, row: int, p: float, label: str, text: str, why: Explanation | None) -> None:
        positive = int(label == "positive")
        self.scored += 1
        self.positives += positive
        self.micro_sum += round(p * MICRO)
        self.histogram[min(int(p * BINS), BINS - 1)] += 1
        self.uncertain += UNCERTAIN[0] <= p <= UNCERTAIN[1]
        # Ties go to the earlier row: a total order, so the top five do not depend on chunking.
        for heap, key in ((self.most_positive, p), (self.most_negative, -p)):
            if len(heap) < TOP:
                heapq.heappush(heap, ((key, -row), row, p, excerpt(text), key_sentence(text, label, why)))
            elif key >= heap[0][0][0] and (key, -row) > heap[0][0]:
                heapq.heapreplace(heap, ((key, -row), row, p, excerpt(text), key_sentence(text, label, why)))

    def merge(self, other: FileAggregate) -> None:
        self.rows += other.rows
        self.scored += other.scored
        self.positives += other.positives
        self.uncertain += other.uncertain
        self.micro_sum += other.micro_sum
        _add(self.histogram, other.histogram)
        for reason, n in other.errors.items():
            self.errors[reason] = self.errors.get(reason, 0) + n
        self.most_positive = heapq.nlargest(TOP, self.most_positive + other.most_positive)
        self.most_negative = heapq.nlargest(TOP, self.most_negative + other.most_negative)
        heapq.heapify(self.most_positive)
        heapq.heapify(self.most_negative)
        for index, column in self.columns.items():
            column.merge(other.columns[index])

    def as_dict(self) -> dict:
        return {
            "header": self.header,
            "text_column": self.text_column,
            "group_column": self.group_column,
            "rows": self.rows,
            "scored": self.scored,
            "positives": self.positives,
            "uncertain": self.uncertain,
            "micro_sum": self.micro_sum,
            "errors": self.errors,
            "histogram": self.histogram,
            "most_positive": [list(entry[1:]) for entry in sorted(self.most_positive, reverse=True)],
            "most_negative": [list(entry[1:]) for entry in sorted(self.most_negative, reverse=True)],
            "columns": {str(i): c.as_dict() for i, c in self.columns.items()},
        }

    @classmethod
    def from_dict(cls, data: dict) -> FileAggregate:
        aggregate = cls(data["header"], data["text_column"], data["group_column"])
        for name in ("rows", "scored", "positives", "uncertain", "micro_sum"):
            setattr(aggregate, name, data[name])
        aggregate.errors = dict(data["errors"])
        aggregate.histogram = list(data["histogram"])
        aggregate.most_positive = [
            ((p, -row), row, p, text, why) for row, p, text, why in data["most_positive"]
        ]
        aggregate.most_negative = [
            ((-p, -row), row, p, text, why) for row, p, text, why in data["most_negative"]
        ]
        heapq.heapify(aggregate.most_positive)
        heapq.heapify(aggregate.most_negative)
        aggregate.columns = {int(i): Column(**c) for i, c in data["columns"].items()}
        return aggregate

    def top(self, which: str) -> list[dict]:
        """The five most positive (or negative) reviews, most extreme first; in an explained file, each
        with its key_sentence ({"text", "contribution"}) where a sentence pushed toward its label."""
        heap = self.most_positive if which == "positive" else self.most_negative
        tops = []
        for _, row, p, text, why in sorted(heap, reverse=True):
            top = {"row": row, "probability": round(p, 6), "excerpt": text}
            if why is not None:
                top["key_sentence"] = {"text": why[0], "contribution": round(why[1], 6)}
            tops.append(top)
        return tops


_SHAPE = re.compile(r"^row has (\d+) fields, the header has (\d+)")


def error_reason(error: str) -> str:
    """A row error without its numbers, so the report counts rows by a few reasons."""
    if m := _SHAPE.match(error):
        more = int(m[1]) > int(m[2])
        return "more fields than the header (joined)" if more else "fewer fields than the header (padded)"
    return error
