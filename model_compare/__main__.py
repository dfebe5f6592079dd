"""python -m model_compare A B DATA [--limit N]: what `make compare-models` runs.

A and B are model directories or registry versions (fetched and verified from $ARTIFACTS_BUCKET).
Prints the table; writes build/compare/<A>-vs-<B>.html and .json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from model_compare import report
from model_compare.compare import score, summarize
from model_compare.data import DataError, read_rows
from model_compare.resolve import ResolveError, resolve
from sentiment_core.model import ModelLoadError, SentimentModel

OUT = Path("build/compare")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m model_compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("a", help="model directory or registry version (the current one)")
    parser.add_argument("b", help="model directory or registry version (the candidate)")
    parser.add_argument("data", type=Path, help="CSV or .csv.gz with a text column and optionally `label`")
    parser.add_argument("--limit", type=int, default=None, help="rows drawn at random (seeded) from DATA")
    parser.add_argument("--threads", type=int, default=2, help="inference threads of each model (default 2)")
    parser.add_argument("--name", default=None, help="registry model name (default: the repo manifest's)")
    parser.add_argument("--text-column", default=None)
    parser.add_argument("--out", type=Path, default=OUT)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.limit is not None and args.limit < 1:
        print("error: --limit must be at least 1", file=sys.stderr)
        return 2
    try:
        dirs = [resolve(spec, args.name) for spec in (args.a, args.b)]
        rows = read_rows(args.data, args.limit, args.text_column)
        models = [SentimentModel(d, args.threads) for d in dirs]
    except (ResolveError, DataError, ModelLoadError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    n = len(rows.texts)
    print(f"scoring {n} rows with {models[0].version} and {models[1].version}", file=sys.stderr, flush=True)
    a, b = score(*models, rows.texts, lambda done: print(f"  {done}/{n}", file=sys.stderr, flush=True))
    result = summarize(rows, a, b, (args.a, args.b), args.data)
    stem = f"{models[0].version}-vs-{models[1].version}"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / f"{stem}.html").write_text(report.html(result))
    print(report.table(result))
    print(f"report: {args.out / stem}.html, .json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
