"""What the command line asks for: a CSV file to score, texts, or stdin lines, and where the result goes."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

USAGE = """\
sentiment-score REVIEWS.csv [-o SCORED.csv] [--format csv|jsonl] [--text-column NAME]
       sentiment-score REVIEWS.csv.gz -o SCORED.csv --report REPORT.html [--group-column NAME]
       sentiment-score - < reviews.txt                 one result per input line
       sentiment-score "Loved it." "A waste of time."  one result per text
       sentiment-score --csv - < in.csv > out.csv       a CSV on stdin
       sentiment-score --explain "Dull start. A superb finale."  why each score"""

EPILOG = """\
A single argument naming an existing .csv or .csv.gz file is scored as the batch function scores
an uploaded file: the same delimiter sniffing and text column rules, exactly one output row per
input row (label, score and error added), the result written whole or not at all, then a summary
JSON with the file's figures; --report also writes them as one self-contained HTML page. An
argument that looks like a file name but names no file is an error, not a review: pass such a
review with --text. Texts and stdin lines give JSON lines (--format csv: a CSV). '-' is
stdin (as the input) or stdout (as -o). Nothing here talks to AWS."""

CSV_SUFFIXES = (".csv", ".csv.gz")
FORMATS = ("csv", "jsonl")
# One token, no spaces, ending like a file name (".csv", ".txt.gz") or holding a directory separator.
_PATH_LIKE = re.compile(r"^\S*(/|\\)\S*$|^\S+\.[A-Za-z][A-Za-z0-9]{0,4}(\.gz)?$")
_RATING = re.compile(r"^\d+(\.\d+)?/\d+$")  # "1/10", "7.5/10": a review, though it has a slash


@dataclass(frozen=True)
class Request:
    """One run: either `source` (a CSV path or '-') or `texts` (None: stdin lines) is scored."""

    source: str | None
    texts: list[str] | None
    out: str | None
    format: str
    summary: str | None
    text_column: str | None
    report: str | None = None
    group_column: str | None = None
    explain: bool = False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sentiment-score",
        usage=USAGE,
        description="Score movie reviews with the IMDB sentiment model, offline.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "inputs",
        nargs="*",
        metavar="FILE.csv | TEXT | -",
        help="a .csv or .csv.gz file to score, reviews to score, or '-' for stdin lines",
    )
    parser.add_argument("-o", "--out", metavar="OUT", help="where results go ('-': stdout)")
    parser.add_argument(
        "-f",
        "--format",
        choices=FORMATS,
        help="output format (default: csv for a CSV input, jsonl for texts and lines)",
    )
    parser.add_argument(
        "--text",
        action="append",
        default=[],
        metavar="TEXT",
        help="a review, never read as a file name (scored before the other texts)",
    )
    parser.add_argument("--csv", metavar="IN.csv", help="a CSV to score ('-': CSV on stdin)")
    parser.add_argument("--summary", metavar="FILE", help="summary JSON (default: OUT.summary.json)")
    parser.add_argument("--text-column", help="the text column, when it is not 'text' or 'review'")
    parser.add_argument(
        "--report", metavar="FILE.html", help="also write the file's report: one self-contained HTML page"
    )
    parser.add_argument(
        "--group-column", help="the column the report groups by (default: one with few distinct values)"
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="each sentence's sentiment and contribution (texts: `sentences`; a CSV: the most positive "
        "and most negative sentence of each row); it costs a review's sentences + 2 passes",
    )
    parser.add_argument(
        "--model-dir", type=Path, help="model artifact (default: $MODEL_DIR, else the repo's model)"
    )
    parser.add_argument("--threads", type=int, help="inference threads (default: the usable cores)")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )
    return parser


def is_csv_name(name: str) -> bool:
    return name.lower().endswith(CSV_SUFFIXES)


def looks_like_path(text: str) -> bool:
    return bool(_PATH_LIKE.match(text)) and not _RATING.match(text)


def is_file(name: str) -> bool:
    """Path.is_file for any argument: a review longer than a file name may be is simply not a file."""
    try:
        return Path(name).is_file()
    except OSError:  # ENAMETOOLONG
        return False


def parse(argv: list[str] | None) -> tuple[argparse.Namespace, Request]:
    """Parse and check the arguments; a usage error exits 2 with a message that says what to do."""
    parser = build_parser()
    args = parser.parse_args(argv)
    source = args.csv
    inputs = list(args.inputs)
    if len(inputs) == 1 and inputs[0] != "-" and is_csv_name(inputs[0]) and is_file(inputs[0]):
        if source:
            parser.error("give the CSV file once: as an argument or with --csv")
        source, inputs = inputs[0], []
    for item in inputs:
        if item == "-" and len(inputs) > 1:
            parser.error("'-' (stdin lines) cannot be mixed with texts")
        if item != "-" and is_file(item):
            hint = "" if is_csv_name(item) else f"; its lines: sentiment-score - < {item}"
            parser.error(f"{item} is a file, not a review: score one CSV (.csv or .csv.gz) per run{hint}")
        if item != "-" and looks_like_path(item):
            parser.error(f"no such file: {item} (to score it as a review, pass --text {item!r})")
    texts = args.text + [i for i in inputs if i != "-"]
    stdin_lines = inputs == ["-"]
    if sum((bool(source), bool(texts), stdin_lines)) != 1:
        parser.error("give a CSV file, texts to score, or '-' for stdin lines (one of them)")
    if not source and (args.summary or args.text_column or args.report or args.group_column):
        parser.error("--summary, --text-column, --report and --group-column go with a CSV file")
    if source and source != "-" and not is_file(source):
        parser.error(f"no such file: {source}")
    for path in (args.out, args.summary, args.report):
        if path and path != "-" and not Path(path).parent.is_dir():
            parser.error(f"no such directory for {path}")
    fmt = args.format or ("csv" if source else "jsonl")
    return args, Request(
        source,
        texts or None,
        args.out,
        fmt,
        args.summary,
        args.text_column,
        args.report,
        args.group_column,
        args.explain,
    )


def default_out(source: str, fmt: str) -> str:
    """reviews.csv or reviews.csv.gz -> reviews.scored.csv (.jsonl); stdin -> stdout."""
    if source == "-":
        return "-"
    stem = re.sub(r"\.csv(\.gz)?$", "", source, flags=re.IGNORECASE)
    return f"{stem}.scored.{fmt}"
