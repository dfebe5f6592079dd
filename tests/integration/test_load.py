"""A bounded load test (Locust, headless) against the local run: concurrent users sending single and
batch predicts for a fixed time. Every request must succeed and be answered soundly."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO

LOCUSTFILE = REPO / "tests" / "load" / "locustfile.py"
USERS, SECONDS = 10, 20


def run_locust(host: str, out: Path) -> dict[str, dict[str, str]]:
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
        "-u", str(USERS), "-r", str(USERS), "-t", f"{SECONDS}s", "--stop-timeout", "10",
        "--host", host, "--csv", str(out / "load"), "--loglevel", "WARNING",
    ]  # fmt: skip
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=SECONDS + 120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with open(out / "load_stats.csv", newline="") as f:
        return {row["Name"]: row for row in csv.DictReader(f)}


def test_10_users_for_20_seconds_with_no_errors(local_run, tmp_path, record_property):
    stats = run_locust(local_run.url, tmp_path)
    total = stats["Aggregated"]
    requests, failures = int(total["Request Count"]), int(total["Failure Count"])
    assert failures == 0, {name: row["Failure Count"] for name, row in stats.items()}
    assert {"POST /predict (1 text)", "POST /predict (8 texts)", "GET /health"} <= set(stats)
    assert requests >= SECONDS  # at least one answer a second, or the run did not really happen
    figures = {
        "users": USERS,
        "seconds": SECONDS,
        "requests": requests,
        "errors": failures,
        "requests_per_s": round(float(total["Requests/s"]), 1),
        "p50_ms": int(total["50%"]),
        "p99_ms": int(total["99%"]),
        **{f"p99_ms {name}": int(row["99%"]) for name, row in stats.items() if name != "Aggregated"},
    }
    for name, value in figures.items():
        record_property(name, value)
    print("load test:", figures)
