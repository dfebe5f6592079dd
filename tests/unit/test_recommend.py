"""The memory-size recommender's model, and the template defaults that follow its committed report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml

from benchmarks import recommend

REPO = Path(__file__).resolve().parents[2]
REPORT = REPO / "benchmarks" / "report" / "report.json"


def test_parallel_fraction_from_two_thread_speedup():
    assert recommend.parallel_fraction(10.0, 5.0) == 1.0  # perfect scaling
    assert recommend.parallel_fraction(10.0, 10.0) == 0.0  # none
    assert recommend.parallel_fraction(10.0, 7.5) == pytest.approx(0.5)  # 7.5 = 10 * (1 - p + p / 2)
    assert recommend.parallel_fraction(10.0, 12.0) == 0.0  # slower with 2 threads: no parallel gain


def test_below_one_vcpu_time_grows_as_the_cpu_share_shrinks():
    rows = {r.memory_mb: r for r in recommend.table(20.0, 12.0, 50.0, 90.0, min_memory_mb=0)}
    assert rows[1769].predict_p50_ms == 20.0 and rows[1769].threads == 1
    assert rows[1024].predict_p50_ms == pytest.approx(20.0 * 1769 / 1024, abs=0.05)
    assert rows[3538].threads == 2 and rows[3538].predict_p50_ms == 12.0  # measured 2-thread point
    assert rows[10240].threads == 5  # 5.8 vCPUs, whole threads only


def test_cost_is_gb_seconds_billed_per_millisecond_plus_requests():
    row = next(r for r in recommend.table(20.0, 20.0, 50.0, 50.0, 0) if r.memory_mb == 1769)
    expected = 1e6 * (1769 / 1024 * 0.020 * recommend.ARM64_PRICE_PER_GB_S + 0.20 / 1e6)
    assert row.usd_per_million_predictions == pytest.approx(expected, abs=0.01)
    assert row.usd_per_million_rows == pytest.approx(
        1e6 / 50 * 1769 / 1024 * recommend.ARM64_PRICE_PER_GB_S, abs=0.01
    )


def test_without_thread_scaling_one_full_vcpu_wins():
    result = recommend.recommend(20.0, 20.0, 50.0, 50.0, peak_rss_mb=400)
    assert result["api_memory_mb"] == 1769 and result["batch_memory_mb"] == 1769


def test_with_perfect_scaling_more_memory_is_free_speed():
    result = recommend.recommend(20.0, 10.0, 50.0, 100.0, peak_rss_mb=400)
    # 5 whole vCPUs: the cost of one, a fifth of the time (10,240 MB pays for 5.8 but runs 5 threads)
    assert result["api_memory_mb"] == 8845 and result["batch_memory_mb"] == 8845


def test_sizes_too_small_for_the_process_are_left_out():
    result = recommend.recommend(20.0, 20.0, 50.0, 50.0, peak_rss_mb=1500)
    assert min(r["memory_mb"] for r in result["table"]) >= 2250


def test_template_defaults_follow_the_committed_report():
    report = json.loads(REPORT.read_text())
    parameters = cfn_yaml.load(str(REPO / "template.yaml"))["Parameters"]
    chosen = report["recommendation"]
    assert parameters["ApiMemorySize"]["Default"] == chosen["api_memory_mb"]
    assert parameters["BatchMemorySize"]["Default"] == chosen["batch_memory_mb"]
    assert parameters["WorkerMemorySize"]["Default"] == chosen["batch_memory_mb"]
