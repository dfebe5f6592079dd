"""sentiment-score: score reviews with the service's model and rules, offline.

  sentiment-score "The movie was amazing!" "A waste of two hours."   one JSON line per text
  sentiment-score - < reviews.txt                                    one JSON line per input line
  sentiment-score --csv reviews.csv [--out scored.csv] [--text-column comment]

The CSV path is the batch function's (sentiment_core.csv_scoring): the same delimiter sniffing,
text column rules and per-row errors, exactly one output row per input row, and a summary JSON
written after the scored CSV. Nothing here talks to AWS.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TextIO

from tqdm import tqdm

from sentiment_core import settings
from sentiment_core.csv_scoring import CHUNK_ROWS, NotScorable, _row_error, score_csv
from sentiment_core.model import ModelLoadError, Prediction, SentimentModel
from sentiment_core.responses import prediction_out

EXIT_OK, EXIT_FAILED = 0, 1  # argparse exits 2 on a usage error


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sentiment-score",
        description="Score movie reviews with the IMDB sentiment model, offline.",
        epilog=__doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "texts", nargs="*", metavar="TEXT", help="reviews to score; '-' reads lines from stdin"
    )
    parser.add_argument("--csv", metavar="IN.csv", help="score a CSV file ('-': stdin) to a scored CSV")
    parser.add_argument("--out", metavar="OUT.csv", help="scored CSV (default: IN.scored.csv; '-': stdout)")
    parser.add_argument("--summary", metavar="FILE", help="summary JSON (default: OUT.summary.json)")
    parser.add_argument("--text-column", help="the text column, when it is not 'text' or 'review'")
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


def load_model(model_dir: Path | None, threads: int | None) -> SentimentModel:
    config = settings.current()
    return SentimentModel(
        model_dir or config.model_dir,
        threads or config.inference_threads,
        verify=config.verify_model_sha256,
    )


def _prediction_line(prediction: Prediction) -> str:
    return json.dumps(prediction_out(prediction).model_dump())


def score_texts(model: SentimentModel, texts: Iterable[str], out: TextIO, progress: bool | None) -> int:
    """One JSON line per text, in order; a text the batch rules reject gets {"error": ...} instead.

    Texts are scored a chunk at a time (the chunk's texts in parallel, as in the batch function), so
    a long stdin stream needs no more memory than one chunk.
    """
    count = 0
    with tqdm(desc="scoring", unit=" texts", disable=_disabled(progress), file=sys.stderr) as bar:
        for chunk in _chunks(texts, 1 if _interactive() else CHUNK_ROWS):
            errors = [_row_error([text], 0, 1) for text in chunk]  # the batch rules, a text as a 1-field row
            scorable = [text for text, error in zip(chunk, errors, strict=True) if not error]
            predictions = iter(model.predict(scorable))
            for error in errors:
                out.write(json.dumps({"error": error}) if error else _prediction_line(next(predictions)))
                out.write("\n")
            out.flush()
            count += len(chunk)
            bar.update(len(chunk))
    return count


def _interactive() -> bool:
    return sys.stdin.isatty()


def _disabled(progress: bool | None) -> bool | None:
    return None if progress is None else not progress  # None: tqdm shows it only on a terminal


def _chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _stdin_lines() -> Iterator[str]:
    """Lines of stdin as the batch function reads cells: UTF-8, an undecodable byte flags the line."""
    for raw in sys.stdin.buffer:
        yield raw.decode("utf-8", errors="replace").rstrip("\r\n")


class _Counting:
    """A read-only byte stream that reports how many bytes were read (for the progress bar)."""

    def __init__(self, raw: IO[bytes], on_read) -> None:
        self._raw, self._on_read = raw, on_read

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._on_read(len(data))
        return data


def score_csv_file(
    model: SentimentModel,
    source: str,
    out: str | None,
    summary_path: str | None,
    text_column: str | None,
    progress: bool | None,
) -> int:
    """Score a CSV as the batch function does: the scored CSV appears whole or not at all, then a summary."""
    to_stdout = out == "-"
    if out is None:
        out = "-" if source == "-" else str(Path(source).with_suffix("")) + ".scored.csv"
        to_stdout = out == "-"
    if summary_path is None and not to_stdout:
        summary_path = str(Path(out).with_suffix("")) + ".summary.json"

    raw = sys.stdin.buffer if source == "-" else open(source, "rb")  # noqa: SIM115 - closed below
    total = None if source == "-" else os.fstat(raw.fileno()).st_size
    staged = None
    try:
        if to_stdout:
            sink = sys.stdout.buffer
        else:
            # Staged beside the target and renamed at the end: a failed run leaves no partial file.
            target = Path(out)
            fd, staged = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
            sink = os.fdopen(fd, "wb")
        with tqdm(
            total=total,
            unit="B",
            unit_scale=True,
            desc=Path(source).name if source != "-" else "stdin",
            disable=_disabled(progress),
            file=sys.stderr,
        ) as bar:
            summary = score_csv(
                _Counting(raw, bar.update),
                sink,
                model,
                text_column,
                progress=lambda rows: bar.set_postfix(rows=rows, refresh=False),
            )
        sink.flush()
        if staged:
            sink.close()
            os.replace(staged, out)
            staged = None
    except NotScorable as problem:
        print(f"sentiment-score: {source} not scored: {problem}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        if source != "-":
            raw.close()
        if staged:
            os.unlink(staged)

    document = {"source": source, "output": out, **summary.as_dict()}
    if summary_path:
        Path(summary_path).write_text(json.dumps(document, indent=2) + "\n")
    if not to_stdout:
        print(json.dumps(document, indent=2))
    print(
        f"{summary.rows} rows: {summary.scored} scored ({summary.positives} positive, {summary.negatives} "
        f"negative), {summary.rows_with_errors} with errors, in {summary.seconds:.1f} s; "
        f"text column {summary.text_column!r}" + ("" if to_stdout else f" -> {out}"),
        file=sys.stderr,
    )
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if bool(args.csv) == bool(args.texts):
        parser.error("give texts to score, '-' for stdin lines, or --csv FILE (one of them)")
    if args.texts and (args.out or args.summary or args.text_column):
        parser.error("--out, --summary and --text-column go with --csv")
    if args.csv and args.csv != "-" and not Path(args.csv).is_file():
        parser.error(f"no such file: {args.csv}")
    for path in (args.out, args.summary):
        if path and path != "-" and not Path(path).parent.is_dir():
            parser.error(f"no such directory for {path}")

    try:
        model = load_model(args.model_dir, args.threads)
    except ModelLoadError as error:
        print(f"sentiment-score: the model did not load: {error}", file=sys.stderr)
        return EXIT_FAILED

    if args.csv:
        return score_csv_file(model, args.csv, args.out, args.summary, args.text_column, args.progress)
    texts = _stdin_lines() if args.texts == ["-"] else iter(args.texts)
    score_texts(model, texts, sys.stdout, args.progress)
    return EXIT_OK
