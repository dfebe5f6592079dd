"""What a file's report costs: the per-row aggregate, the merge of chunk aggregates, figures and HTML.

    python -m benchmarks.report_build [--rows 200000] [--chunks 100] [--json]

Rows are IMDB test reviews with a 20-value `movie` column and a year of `date`s. The predictions
are drawn at random (seeded), not by the model: this times the report's own work, which the
model's time does not change. Peak memory is Python's (tracemalloc) above the rows already built.
Also measured: what drawing the charts with matplotlib would add (its import time and size on
disk), against this module's own inline-SVG template.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import subprocess
import sys
import time
import tracemalloc
from importlib import metadata
from pathlib import Path

from benchmarks.common import spread_texts
from sentiment_core.csv_scoring import CHUNK_ROWS
from sentiment_core.file_summary import FileAggregate
from sentiment_core.model import Prediction

HEADER = ["id", "movie", "date", "text"]


def build_rows(n: int) -> tuple[list[list[str]], list[Prediction | None]]:
    rng = random.Random(23)
    texts = spread_texts(min(n, 5000))
    start = dt.date(2025, 1, 1)
    rows = [
        [
            str(i),
            f"Movie {rng.randrange(20)}",
            (start + dt.timedelta(days=rng.randrange(365))).isoformat(),
            texts[i % len(texts)],
        ]
        for i in range(n)
    ]
    predictions: list[Prediction | None] = []
    for i in range(n):
        if i % 500 == 7:
            predictions.append(None)  # a row error now and then
            continue
        p = rng.random()
        label = "positive" if p >= 0.5 else "negative"
        predictions.append(Prediction(label, max(p, 1 - p), {"negative": 1 - p, "positive": p}, False, 100))
    return rows, predictions


def feed(aggregate: FileAggregate, rows, predictions, first: int, last: int) -> None:
    """As the scorer calls its observer: CHUNK_ROWS rows at a time."""
    for start in range(first, last, CHUNK_ROWS):
        end = min(last, start + CHUNK_ROWS)
        chunk = {i - start: predictions[i] for i in range(start, end) if predictions[i] is not None}
        errors = ["" if predictions[i] is not None else "empty text" for i in range(start, end)]
        aggregate.add(start + 1, rows[start:end], chunk, errors)


def measured(fn) -> tuple[object, float, float]:
    """(result, seconds, peak MiB of Python allocations while fn ran): timed untraced, then traced,
    as tracing slows every allocation."""
    started = time.perf_counter()
    fn()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    result = fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return result, seconds, peak


def import_seconds(module: str) -> float:
    """Median wall time of importing a module in a fresh interpreter (sentiment_core already loaded)."""
    code = (
        "import time, sentiment_core.file_summary; t = time.perf_counter(); "
        f"import {module}; print(time.perf_counter() - t)"
    )
    runs = sorted(
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(3)
    )
    return runs[1]


def installed_mb(distributions: list[str]) -> float:
    total = 0
    for name in distributions:
        for file in metadata.distribution(name).files or []:
            path = Path(file.locate())
            total += path.stat().st_size if path.is_file() else 0
    return total / 2**20


def charting_cost() -> dict:
    """matplotlib (installed here for the benchmark plots) and what it pulls in beside numpy."""
    try:
        requires = [
            r.split(";")[0].split(">")[0].split("<")[0].split("=")[0].split("!")[0].strip()
            for r in metadata.requires("matplotlib") or []
        ]
    except metadata.PackageNotFoundError:
        return {}
    deps = [d for d in requires if d and d.lower() not in ("numpy", "packaging", "python-dateutil")]
    present = []
    for name in ["matplotlib", *deps]:
        try:
            metadata.distribution(name)
            present.append(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "library": f"matplotlib {metadata.version('matplotlib')}",
        "distributions": present,
        "installed_mb": round(installed_mb(present), 1),
        "import_s": round(import_seconds("matplotlib.pyplot"), 3),
    }


def run(n: int, chunks: int) -> dict:
    rows, predictions = build_rows(n)

    def whole() -> FileAggregate:
        aggregate = FileAggregate(HEADER, 3)
        feed(aggregate, rows, predictions, 0, n)
        return aggregate

    total, aggregate_s, aggregate_peak = measured(whole)
    size = -(-n // chunks)
    parts = []
    for first in range(0, n, size):
        part = FileAggregate(HEADER, 3)
        feed(part, rows, predictions, first, min(n, first + size))
        parts.append(json.dumps(part.as_dict()))  # as the merge reads them: JSON

    def merge() -> FileAggregate:
        merged = FileAggregate(HEADER, 3)
        for document in parts:
            merged.merge(FileAggregate.from_dict(json.loads(document)))
        return merged

    merged, merge_s, merge_peak = measured(merge)
    assert merged.as_dict() == total.as_dict()  # the merge is exact

    from sentiment_core.report import figures, render

    def page() -> str:
        return render(figures(merged, {"name": "benchmark", "version": "0"}, 1.0, 0.01), "reviews.csv")

    html, page_s, page_peak = measured(page)
    return {
        "rows": n,
        "chunks": len(parts),
        "aggregate": {
            "seconds": round(aggregate_s, 3),
            "us_per_row": round(aggregate_s / n * 1e6, 2),
            "peak_mib": round(aggregate_peak, 2),
        },
        "chunk_aggregate_kib": round(max(len(p) for p in parts) / 1024, 1),
        "merge": {"seconds": round(merge_s, 3), "peak_mib": round(merge_peak, 2)},
        "figures_and_html": {"seconds": round(page_s, 3), "peak_mib": round(page_peak, 2)},
        "html_kib": round(len(html.encode()) / 1024, 1),
        "template_import_s": round(import_seconds("sentiment_core.report"), 4),
        "charting_library": charting_cost(),
    }


def markdown(r: dict) -> str:
    lib = r.get("charting_library") or {}
    lines = [
        f"## The file report at {r['rows']:,} rows",
        "",
        "| step | seconds | peak MiB (tracemalloc) |",
        "|---|---|---|",
        f"| aggregate every row ({r['aggregate']['us_per_row']} us a row) | {r['aggregate']['seconds']} | "
        f"{r['aggregate']['peak_mib']} |",
        f"| merge {r['chunks']} chunk aggregates (largest {r['chunk_aggregate_kib']} KiB of JSON) | "
        f"{r['merge']['seconds']} | {r['merge']['peak_mib']} |",
        f"| figures and HTML ({r['html_kib']} KiB page) | {r['figures_and_html']['seconds']} | "
        f"{r['figures_and_html']['peak_mib']} |",
        "",
        f"The inline-SVG template imports in {r['template_import_s'] * 1000:.1f} ms and adds no package "
        "to the image.",
    ]
    if lib:
        lines.append(
            f"Drawing the charts with {lib['library']} instead would add {lib['installed_mb']} MB on disk "
            f"({', '.join(lib['distributions'])}) and {lib['import_s'] * 1000:.0f} ms of import, for charts "
            "that would still have to be embedded as images."
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report_build", description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--chunks", type=int, default=100)
    parser.add_argument("--json", action="store_true", help="print only the JSON result")
    args = parser.parse_args()
    result = run(args.rows, args.chunks)
    print(json.dumps(result) if args.json else markdown(result))


if __name__ == "__main__":
    main()
