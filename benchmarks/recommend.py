"""The inference recommender: Lambda memory sizes -> predicted latency and cost, from measured figures.

Lambda gives CPU in proportion to memory (1,769 MB = one vCPU, 10,240 MB = about 5.8).
Below one vCPU a request gets that share of one core, so it takes proportionally longer;
above it, the service runs floor(vCPUs) inference threads (sentiment_core.settings), and
the gain from each extra thread follows Amdahl's law with the parallel fraction measured
here from 1 vs 2 threads. Prices are Lambda's published arm64 rates (us-east-1).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

from sentiment_core.pricing import ARM64_PRICE_PER_GB_S, PRICE_PER_REQUEST

MB_PER_VCPU = 1769
MAX_VCPUS = 6
MEMORY_SIZES_MB = (1024, 1536, 1769, 2048, 3008, 3538, 5307, 7076, 8845, 10240)
COST_TOLERANCE = 0.10  # pay up to this much more than the cheapest size for a faster one
BATCH_TIMEOUT_S = 900
BATCH_RESERVE_S = 60  # functions.batch.app.TIME_RESERVE_MS


def parallel_fraction(one_thread: float, two_threads: float) -> float:
    """Amdahl's p from the speed-up of 2 threads over 1 (times, or inverse rates)."""
    speedup = one_thread / two_threads
    return min(1.0, max(0.0, 2 * (1 - 1 / speedup)))


def threads_at(memory_mb: int) -> int:
    return max(1, min(MAX_VCPUS, memory_mb // MB_PER_VCPU))


def time_factor(memory_mb: int, p: float) -> float:
    """Time at `memory_mb` relative to one full vCPU and one thread."""
    vcpus = memory_mb / MB_PER_VCPU
    if vcpus < 1:
        return 1 / vcpus
    n = threads_at(memory_mb)
    return (1 - p) + p / n


@dataclass(frozen=True)
class Row:
    memory_mb: int
    vcpus: float
    threads: int
    predict_p50_ms: float
    usd_per_million_predictions: float
    batch_rows_per_s: float
    usd_per_million_rows: float
    rows_per_invocation: int


def table(
    predict_ms_1t: float,
    predict_ms_2t: float,
    batch_rows_per_s_1t: float,
    batch_rows_per_s_2t: float,
    min_memory_mb: float,
) -> list[Row]:
    """One row per memory size at least `min_memory_mb` (the measured peak RSS with headroom)."""
    p_predict = parallel_fraction(predict_ms_1t, predict_ms_2t)
    p_batch = parallel_fraction(1 / batch_rows_per_s_1t, 1 / batch_rows_per_s_2t)
    rows = []
    for memory in MEMORY_SIZES_MB:
        if memory < min_memory_mb:
            continue
        gb = memory / 1024
        latency_ms = predict_ms_1t * time_factor(memory, p_predict)
        billed_s = math.ceil(latency_ms) / 1000  # billed per started millisecond
        rows_per_s = batch_rows_per_s_1t / time_factor(memory, p_batch)
        rows.append(
            Row(
                memory_mb=memory,
                vcpus=round(memory / MB_PER_VCPU, 2),
                threads=threads_at(memory),
                predict_p50_ms=round(latency_ms, 1),
                usd_per_million_predictions=round(
                    1e6 * (gb * billed_s * ARM64_PRICE_PER_GB_S + PRICE_PER_REQUEST), 2
                ),
                batch_rows_per_s=round(rows_per_s, 1),
                usd_per_million_rows=round(1e6 / rows_per_s * gb * ARM64_PRICE_PER_GB_S, 2),
                rows_per_invocation=int(rows_per_s * (BATCH_TIMEOUT_S - BATCH_RESERVE_S)),
            )
        )
    return rows


def choose(rows: list[Row], cost: str, speed: Callable[[Row], float]) -> Row:
    """The fastest size costing at most COST_TOLERANCE more than the cheapest (the smaller on a tie)."""
    cheapest = min(getattr(r, cost) for r in rows)
    affordable = [r for r in rows if getattr(r, cost) <= cheapest * (1 + COST_TOLERANCE)]
    return max(affordable, key=lambda r: (speed(r), -r.memory_mb))


def recommend(
    predict_ms_1t: float,
    predict_ms_2t: float,
    batch_rows_per_s_1t: float,
    batch_rows_per_s_2t: float,
    peak_rss_mb: float,
) -> dict:
    rows = table(predict_ms_1t, predict_ms_2t, batch_rows_per_s_1t, batch_rows_per_s_2t, peak_rss_mb * 1.5)
    api = choose(rows, "usd_per_million_predictions", speed=lambda r: -r.predict_p50_ms)
    batch = choose(rows, "usd_per_million_rows", speed=lambda r: r.batch_rows_per_s)
    return {
        "inputs": {
            "predict_p50_ms_1_thread": predict_ms_1t,
            "predict_p50_ms_2_threads": predict_ms_2t,
            "batch_rows_per_s_1_thread": batch_rows_per_s_1t,
            "batch_rows_per_s_2_threads": batch_rows_per_s_2t,
            "largest_peak_rss_mb": peak_rss_mb,
            "parallel_fraction_predict": round(parallel_fraction(predict_ms_1t, predict_ms_2t), 3),
            "parallel_fraction_batch": round(
                parallel_fraction(1 / batch_rows_per_s_1t, 1 / batch_rows_per_s_2t), 3
            ),
        },
        "rule": f"the fastest size within {COST_TOLERANCE:.0%} of the cheapest; "
        "sizes under 1.5x peak RSS left out",
        "table": [asdict(r) for r in rows],
        "api_memory_mb": api.memory_mb,
        "batch_memory_mb": batch.memory_mb,
    }
