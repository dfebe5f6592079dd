"""Shared benchmark inputs: IMDB test reviews, read from IMDB_DATA_DIR."""

from __future__ import annotations

import csv
import gzip
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("IMDB_DATA_DIR", REPO.parent / "shared" / "data" / "imdb"))


def test_reviews(n: int | None = None, stride: int = 1) -> list[dict]:
    """Rows of the test split, spread over the file (it is ordered by label) when stride > 1."""
    with gzip.open(DATA_DIR / "test.csv.gz", "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))[::stride]
    return rows[:n] if n else rows


def timed(fn: Callable[[], object], repeats: int, warmup: int = 3) -> list[float]:
    """Wall-clock milliseconds of each call after a warm-up."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {
        "p50": round(statistics.median(ordered), 2),
        "p90": round(pick(0.9), 2),
        "p99": round(pick(0.99), 2),
        "mean": round(statistics.fmean(ordered), 2),
    }
