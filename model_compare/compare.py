"""Score two models on the same rows, once each, and derive every figure of the comparison."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from model_compare import stats
from model_compare.data import Rows
from sentiment_core.model import Prediction, SentimentModel

LATENCY_ROWS = 200  # rows timed one at a time, A and B interleaved, before the rest are scored in batches
BATCH = 64
TOP = 10
SNIPPET = 200  # characters of a row's text shown in the report


@dataclass
class Scored:
    model: SentimentModel
    p_positive: list[float] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)


def _p_positive(predictions: list[Prediction]) -> list[float]:
    return [p.probabilities["positive"] for p in predictions]


def score(
    a: SentimentModel, b: SentimentModel, texts: list[str], progress: Callable[[int], None] | None = None
) -> tuple[Scored, Scored]:
    """P(positive) of every row from both models, each row scored once by each.

    The first LATENCY_ROWS rows are timed one text per call (one thread: a single text never uses the
    model's pool), A and B alternating which goes first so neither gains from a warm cache; the other
    rows are scored in batches on the models' threads.
    """
    sides = Scored(a), Scored(b)
    timed = min(LATENCY_ROWS, len(texts))
    for i in range(timed):
        for side in sides if i % 2 == 0 else sides[::-1]:
            started = time.perf_counter()
            (prediction,) = side.model.predict([texts[i]])
            side.latency_ms.append((time.perf_counter() - started) * 1000)
            side.p_positive.append(prediction.probabilities["positive"])
        if progress and (i + 1) % BATCH == 0:
            progress(i + 1)
    for start in range(timed, len(texts), BATCH):
        chunk = texts[start : start + BATCH]
        for side in sides:
            side.p_positive.extend(_p_positive(side.model.predict(chunk)))
        if progress:
            progress(start + len(chunk))
    return sides


def _side(scored: Scored, given: str, positive: list[bool] | None) -> dict:
    model, p = scored.model, scored.p_positive
    out = {
        "given": given,
        "name": model.name,
        "version": model.version,
        "model_dir": str(model.artifact.path),
        "sha256": model.sha256,
        "positive_share": sum(x >= 0.5 for x in p) / len(p),
        "p50_latency_ms": round(stats.percentile(scored.latency_ms, 50), 2),
        "latency_rows": len(scored.latency_ms),
    }
    if positive is not None:
        correct = sum((x >= 0.5) == y for x, y in zip(p, positive, strict=True))
        low, high = stats.wilson_interval(correct, len(p))
        bins = stats.reliability(p, positive)
        out |= {
            "correct": correct,
            "accuracy": correct / len(p),
            "accuracy_ci95": [low, high],
            "ece": stats.expected_calibration_error(bins),
            "reliability": [vars(b) for b in bins],
        }
    return out


def summarize(rows: Rows, a: Scored, b: Scored, given: tuple[str, str], data: Path) -> dict:
    """Every figure of the report, as JSON-ready values."""
    pa, pb = a.p_positive, b.p_positive
    n = len(pa)
    label_a, label_b = [x >= 0.5 for x in pa], [x >= 0.5 for x in pb]
    agree = sum(x == y for x, y in zip(label_a, label_b, strict=True))
    delta = [y - x for x, y in zip(pa, pb, strict=True)]
    result: dict = {
        "data": str(data),
        "rows": n,
        "rows_in_file": rows.total,
        "rows_without_text": rows.skipped_empty,
        "labelled": rows.positive is not None,
        "a": _side(a, given[0], rows.positive),
        "b": _side(b, given[1], rows.positive),
        "agreement": agree / n,
        "agreement_ci95": list(stats.wilson_interval(agree, n)),
        "flips_to_positive": sum(not x and y for x, y in zip(label_a, label_b, strict=True)),
        "flips_to_negative": sum(x and not y for x, y in zip(label_a, label_b, strict=True)),
        "max_abs_delta_p_positive": max(abs(d) for d in delta),
        "mean_abs_delta_p_positive": sum(abs(d) for d in delta) / n,
    }
    if rows.positive is not None:
        only_a = sum(x == t and y != t for x, y, t in zip(label_a, label_b, rows.positive, strict=True))
        only_b = sum(y == t and x != t for x, y, t in zip(label_a, label_b, rows.positive, strict=True))
        result["mcnemar"] = {
            "only_a_right": only_a,
            "only_b_right": only_b,
            "p_value": stats.mcnemar_exact(only_a, only_b),
        }
    top = sorted(range(n), key=lambda i: (-abs(delta[i]), i))[:TOP]
    result["largest_disagreements"] = [
        {
            "line": rows.line_numbers[i],
            "label": None if rows.positive is None else ("positive" if rows.positive[i] else "negative"),
            "a_p_positive": pa[i],
            "b_p_positive": pb[i],
            "delta": delta[i],
            "text": rows.texts[i][:SNIPPET] + ("…" if len(rows.texts[i]) > SNIPPET else ""),
        }
        for i in top
    ]
    return result
