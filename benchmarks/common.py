"""Shared benchmark inputs and helpers: IMDB test reviews (read from IMDB_DATA_DIR), timing, subprocesses."""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from local_run.resources import Resources

REPO = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("IMDB_DATA_DIR", REPO.parent / "shared" / "data" / "imdb"))


def test_reviews(n: int | None = None, stride: int = 1) -> list[dict]:
    """Rows of the test split, spread over the file (it is ordered by label) when stride > 1."""
    with gzip.open(DATA_DIR / "test.csv.gz", "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))[::stride]
    return rows[:n] if n else rows


def spread_texts(n: int) -> list[str]:
    """n test reviews spread evenly over the split: the real length distribution, both labels."""
    return [r["text"] for r in test_reviews(n, stride=max(1, 25_000 // n))]


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


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Swallow handler stdout (EMF metrics and JSON logs go there, as in Lambda)."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def handler_environment(threads: int | None = None) -> None:
    """What the template gives every function, minus AWS: for importing handlers in a benchmark."""
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "ImdbSentiment")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    if threads:
        os.environ["INFERENCE_THREADS"] = str(threads)


def run_json(args: list[str], env: dict[str, str] | None = None, timeout: int = 900) -> dict:
    """Run `python <args>` in a fresh process (its own threads, its own RSS); the last stdout line is JSON."""
    out = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def local_aws() -> Iterator[tuple[dict[str, str], Resources]]:
    """A moto server in this process with the template's resources, as the local run has them: the
    environment the functions get (this process's too, until the block ends) and the resources."""
    from moto.server import ThreadedMotoServer

    from local_run.resources import create_resources

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    saved = dict(os.environ)
    try:
        env = {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
        }
        os.environ.update(env)
        resources = create_resources()
        env |= resources.environment()
        os.environ.update(env)
        yield env, resources
    finally:
        os.environ.clear()
        os.environ.update(saved)
        server.stop()
