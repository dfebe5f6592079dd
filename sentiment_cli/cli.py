"""sentiment-score: score reviews with the service's model and rules, offline.

The CSV path is the batch function's (sentiment_core.csv_scoring); arguments.py says what the
command line means. Nothing here talks to AWS.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import gzip
import io
import itertools
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, BinaryIO

from tqdm import tqdm

from sentiment_cli.arguments import Request, default_out, parse
from sentiment_core import settings
from sentiment_core.csv_scoring import CHUNK_ROWS, OUTPUT_COLUMNS, NotScorable, _row_error, score_csv
from sentiment_core.explain import CSV_COLUMNS as EXPLAIN_COLUMNS
from sentiment_core.explain import csv_cells, explain
from sentiment_core.file_summary import FileAggregate
from sentiment_core.model import ModelLoadError, SentimentModel
from sentiment_core.responses import explained_out, prediction_out

EXIT_OK, EXIT_FAILED = 0, 1  # argparse exits 2 on a usage error
TEXT_CSV_COLUMNS = ("text", *OUTPUT_COLUMNS)


def load_model(model_dir: Path | None, threads: int | None) -> SentimentModel:
    config = settings.current()
    return SentimentModel(
        model_dir or config.model_dir,
        threads or config.inference_threads,
        verify=config.verify_model_sha256,
    )


@contextlib.contextmanager
def staged_output(out: str) -> Iterator[BinaryIO]:
    """A byte sink for `out` ('-': stdout). A file appears whole, by rename, or not at all."""
    if out == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = Path(out)
    fd, staged = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as sink:
            yield sink
        os.replace(staged, target)
    finally:
        if os.path.exists(staged):
            os.unlink(staged)


def text_results(
    model: SentimentModel, texts: Iterable[str], progress: bool | None, explained: bool = False
) -> Iterator[tuple]:
    """(text, prediction dict or None, error, explanation or None) per text, in order, under the batch
    function's row rules. With `explained`, each prediction has its `sentences` (as /predict's).

    Scored a chunk at a time (the chunk's texts in parallel, as in the batch function), so a long
    stdin stream needs no more memory than one chunk; one at a time when a person is typing.
    """
    with tqdm(desc="scoring", unit=" texts", disable=_disabled(progress), file=sys.stderr) as bar:
        for chunk in _chunks(texts, 1 if _interactive() else CHUNK_ROWS):
            errors = [_row_error([text], 0, 1) for text in chunk]  # a text as a 1-field row
            scorable = [t for t, e in zip(chunk, errors, strict=True) if not e]
            if explained:
                explanations = explain(model, scorable)
                outs = iter([(explained_out(e), e) for e in explanations])
            else:
                outs = iter([(prediction_out(p), None) for p in model.predict(scorable)])
            for text, error in zip(chunk, errors, strict=True):
                if error:
                    yield text, None, error, None
                else:
                    out, explanation = next(outs)
                    yield text, out.model_dump(), error, explanation
            bar.update(len(chunk))


def write_text_results(results: Iterable[tuple], sink: BinaryIO, fmt: str, explained: bool = False) -> int:
    out = io.TextIOWrapper(sink, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(out, lineterminator="\r\n") if fmt == "csv" else None
    if writer:
        writer.writerow([*TEXT_CSV_COLUMNS, *(EXPLAIN_COLUMNS if explained else ())])
    count = 0
    for text, prediction, error, explanation in results:
        if writer:
            score = f"{prediction['score']:.6f}" if prediction else ""
            row = [text, prediction["label"] if prediction else "", score, error]
            writer.writerow(row + (csv_cells(text, explanation) if explained else []))
        else:
            out.write(json.dumps(prediction or {"error": error}) + "\n")
        out.flush()  # a line out per line in, as it is scored
        count += 1
    out.detach()
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


def csv_to_jsonl(scored: IO[bytes], delimiter: str, sink: BinaryIO, explained: bool = False) -> None:
    """The scored CSV as JSON lines: the input's columns, then label, score (a number) and error
    (explained: the top sentences, and their contributions as numbers)."""
    reader = csv.reader(io.TextIOWrapper(scored, encoding="utf-8-sig", newline=""), delimiter=delimiter)
    header = next(reader)
    for row in reader:
        record: dict = dict(
            zip(header, row, strict=True)
        )  # rectangular: a long row's surplus is in its last cell
        record["label"] = record["label"] or None
        record["score"] = float(record["score"]) if record["score"] else None
        record["error"] = record["error"] or None
        for name in EXPLAIN_COLUMNS if explained else ():
            value = record[name]
            record[name] = (float(value) if name.endswith("_contribution") else value) if value else None
        sink.write(json.dumps(record, ensure_ascii=False).encode() + b"\n")


def score_csv_file(model: SentimentModel, request: Request, progress: bool | None) -> int:
    """Score a CSV as the batch function does; the output appears whole or not at all, then a summary."""
    source = request.source or "-"
    out = request.out or default_out(source, request.format)
    to_stdout = out == "-"
    summary_path = request.summary
    if summary_path is None and not to_stdout:
        summary_path = str(Path(out).with_suffix("")) + ".summary.json"

    aggregates: list[FileAggregate] = []

    def observer_for(header: list[str], column: int):
        aggregates.append(FileAggregate(header, column, request.group_column))
        return aggregates[0].add

    raw = sys.stdin.buffer if source == "-" else open(source, "rb")  # noqa: SIM115 - closed below
    total = None if source == "-" else os.fstat(raw.fileno()).st_size
    try:
        with (
            tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                desc=Path(source).name if source != "-" else "stdin",
                disable=_disabled(progress),
                file=sys.stderr,
            ) as bar,
            staged_output(out) as sink,
            tempfile.TemporaryFile() if request.format == "jsonl" else contextlib.nullcontext(sink) as scored,
        ):
            counted = _Counting(raw, bar.update)  # compressed bytes for a .gz: the file's own size
            reader = gzip.GzipFile(fileobj=counted) if source.lower().endswith(".gz") else counted
            summary = score_csv(
                reader,
                scored,
                model,
                request.text_column,
                progress=lambda rows: bar.set_postfix(rows=rows, refresh=False),
                observer_for=observer_for,
                explainer=functools.partial(explain, model) if request.explain else None,
            )
            if scored is not sink:
                scored.seek(0)
                csv_to_jsonl(scored, summary.delimiter, sink, request.explain)
    except NotScorable as problem:
        print(f"sentiment-score: {source} not scored: {problem}", file=sys.stderr)
        return EXIT_FAILED
    except (gzip.BadGzipFile, EOFError) as problem:
        print(f"sentiment-score: {source} not scored: not a complete gzip file ({problem})", file=sys.stderr)
        return EXIT_FAILED
    finally:
        if source != "-":
            raw.close()

    document = {"source": source, "output": out, **summary.as_dict()}
    document["figures"] = write_report(request, source, summary, aggregates[0])
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


def write_report(request: Request, source: str, summary, aggregate: FileAggregate) -> dict:
    """The figures for the summary; with --report, the page too (whole, by rename, like the output)."""
    from sentiment_core.report import figures, render  # only a run that reports needs it

    numbers = figures(aggregate, summary.model, summary.seconds, None)
    if request.report:
        with staged_output(request.report) as sink:
            sink.write(render(numbers, Path(source).name if source != "-" else "stdin").encode())
    return numbers


def main(argv: list[str] | None = None) -> int:
    args, request = parse(argv)
    try:
        model = load_model(args.model_dir, args.threads)
    except ModelLoadError as error:
        print(f"sentiment-score: the model did not load: {error}", file=sys.stderr)
        return EXIT_FAILED

    if request.source:
        return score_csv_file(model, request, args.progress)
    texts = iter(request.texts) if request.texts else _stdin_lines()
    with staged_output(request.out or "-") as sink:
        results = text_results(model, texts, args.progress, request.explain)
        write_text_results(results, sink, request.format, request.explain)
    return EXIT_OK
