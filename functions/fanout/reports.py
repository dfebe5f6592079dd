"""scored/<name>.report.html and the figures summary.json carries, on the fast path and the fan-out.

Both build them from a FileAggregate: the fast path's, gathered as it scored, or the fan-out's,
merged from the chunks' aggregates without reading the scored rows again.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from functions.fanout.files import check_source, output_keys, s3
from sentiment_core.csv_scoring import Summary
from sentiment_core.file_summary import FileAggregate
from sentiment_core.report import figures, render


def write_report(plan: dict, aggregate: FileAggregate, summary: Summary, cost: float) -> dict:
    """Put the report beside the scored CSV (before summary.json, which vouches for both); return
    the figures."""
    numbers = figures(aggregate, summary.model, summary.seconds, cost)
    page = render(numbers, PurePosixPath(plan["key"]).name)
    check_source(plan)
    s3.put_object(
        Bucket=plan["bucket"],
        Key=output_keys(plan["key"])["report"],
        Body=page.encode(),
        ContentType="text/html; charset=utf-8",
    )
    return numbers
