"""The statistics of a comparison, standard library only: each is a textbook formula, named by it."""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # the standard normal's 97.5th percentile


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval of a proportion: sound near 0 and 1, where the normal one is not."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def mcnemar_exact(only_a_right: int, only_b_right: int) -> float:
    """Two-sided p-value of McNemar's exact test: the discordant rows are Binomial(n, 1/2) under
    "equally accurate"; the p-value doubles the smaller tail (capped at 1)."""
    n = only_a_right + only_b_right
    if n == 0:
        return 1.0
    k = min(only_a_right, only_b_right)
    # log-space terms: n can be thousands, where 0.5**n underflows
    tail = sum(
        math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2))
        for i in range(k + 1)
    )
    return min(1.0, 2 * tail)


@dataclass(frozen=True)
class Bin:
    lower: float
    upper: float
    count: int
    mean_confidence: float  # mean predicted P(positive) in the bin
    positive_rate: float  # share of rows labelled positive in the bin


def reliability(p_positive: list[float], positive: list[bool], bins: int = 10) -> list[Bin]:
    """Equal-width bins of P(positive) on [0, 1]; each bin's mean prediction beside its observed rate."""
    members: list[list[int]] = [[] for _ in range(bins)]
    for i, p in enumerate(p_positive):
        members[min(bins - 1, int(p * bins))].append(i)
    out = []
    for b, rows in enumerate(members):
        count = len(rows)
        out.append(
            Bin(
                lower=b / bins,
                upper=(b + 1) / bins,
                count=count,
                mean_confidence=sum(p_positive[i] for i in rows) / count if count else 0.0,
                positive_rate=sum(positive[i] for i in rows) / count if count else 0.0,
            )
        )
    return out


def expected_calibration_error(bins: list[Bin]) -> float:
    """ECE: the rows-weighted mean gap between predicted P(positive) and the observed positive rate."""
    total = sum(b.count for b in bins)
    if not total:
        return 0.0
    return sum(b.count * abs(b.mean_confidence - b.positive_rate) for b in bins) / total


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), linear between the closest ranks (NumPy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
