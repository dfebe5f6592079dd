"""Score a CSV stream row for row: every input row comes out, with label, score and error added
(and, for an explained file, each row's top sentences: explain.CSV_COLUMNS).

Every output row has the header's width (row_shape.py says how a ragged row is fitted).

Streams in both directions (a chunk of rows in memory at a time), so file size is
bounded by disk and time, not memory.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import IO, Protocol

from sentiment_core.explain import CSV_COLUMNS as EXPLAIN_COLUMNS
from sentiment_core.explain import Explanation, csv_cells
from sentiment_core.model import Prediction
from sentiment_core.preprocess import has_visible_text
from sentiment_core.responses import model_fields
from sentiment_core.row_shape import fit

TEXT_COLUMNS = ("text", "review")
DELIMITERS = ",;\t|"
OUTPUT_COLUMNS = ("label", "score", "error")
SNIFF_BYTES = 64 * 1024
CHUNK_ROWS = 512  # rows read and scored together: enough texts to keep every thread busy, small in memory
MAX_CELL_CHARS = 10 * 1024 * 1024

csv.field_size_limit(MAX_CELL_CHARS)


class Scorer(Protocol):
    """What scoring needs of a model: SentimentModel, or the service's metered wrapper around it."""

    name: str
    version: str

    def predict(self, texts: list[str]) -> list[Prediction]: ...


# Explains a chunk's texts (explain.py), for a file that asks for it: its rows gain EXPLAIN_COLUMNS.
Explainer = Callable[[list[str]], list[Explanation]]

# Sees each chunk as written: its first row's number (1: the first row under the header), the
# rows' cells (the header's width), the predictions by position in the chunk, the row errors, and
# the explanations by position (empty unless the file is explained).
Observer = Callable[[int, list[list[str]], dict[int, Prediction], list[str], dict[int, Explanation]], None]


CLASH_PREFIX = "sentiment_"


def output_columns(explained: bool, header: Sequence[str] = ()) -> tuple[str, ...]:
    """The service's columns, after the file's own. A file that already has one of these names (the
    IMDB files have their own `label`) gets them all prefixed, so no two columns share a name and a
    spreadsheet or DictReader never reads the file's column for the service's."""
    names = (*OUTPUT_COLUMNS, *EXPLAIN_COLUMNS) if explained else OUTPUT_COLUMNS
    taken = {column.strip().lower() for column in header}
    return tuple(CLASH_PREFIX + name for name in names) if taken.intersection(names) else names


class NotScorable(ValueError):
    """The file as a whole cannot be scored (not a CSV, no text column); the message says why."""


@dataclass
class Summary:
    rows: int = 0
    scored: int = 0
    positives: int = 0
    negatives: int = 0
    rows_with_errors: int = 0
    seconds: float = 0.0
    text_column: str = ""
    delimiter: str = ","
    model: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def _check_head(head: bytes) -> None:
    if not head:
        raise NotScorable("the file is empty (0 bytes)")
    if head.startswith(b"\x1f\x8b"):
        raise NotScorable("the file is gzip-compressed: upload the uncompressed .csv")
    if head.startswith(b"PK\x03\x04"):
        raise NotScorable("the file is a zip archive (an .xlsx workbook?): export it as CSV UTF-8")
    if b"\x00" in head:
        raise NotScorable("the file is binary (it contains NUL bytes), not a CSV")
    header = head.split(b"\n", 1)[0]
    try:  # the header must be UTF-8; a bad byte further down is that row's error, not the file's
        codecs.getincrementaldecoder("utf-8-sig")().decode(header, final=len(header) < len(head))
    except UnicodeDecodeError as error:
        raise NotScorable(
            f"the header row is not UTF-8 text (bad byte at offset {error.start}): save the file as CSV UTF-8"
        ) from None


def _sniff(sample: str) -> type[csv.Dialect]:
    """RFC 4180 CSV with the sniffed delimiter; where the sniffer is unsure or fooled, the header decides.

    Only the delimiter is taken from the sniffer: its guesses of quoting rules are unreliable (a
    sample without a doubled quote makes it turn `""` escaping off, which splits rows at commas).
    """
    header = sample.split("\n", 1)[0]
    try:
        delimiter = (
            csv.Sniffer().sniff(sample[: sample.rfind("\n") + 1] or sample, delimiters=DELIMITERS).delimiter
        )
    except csv.Error:
        delimiter = ""
    if not delimiter or delimiter not in header:
        counts = {d: header.count(d) for d in DELIMITERS}
        best = max(counts, key=counts.get)
        delimiter = best if counts[best] else ","

    return type("Sniffed", (csv.excel,), {"delimiter": delimiter})


def _find_text_column(header: list[str], requested: str | None) -> int:
    names = [h.strip().lower() for h in header]
    wanted = [requested.strip().lower()] if requested else list(TEXT_COLUMNS)
    for name in wanted:
        if name in names:
            return names.index(name)
    found = ", ".join(repr(h) for h in header) or "none"
    if requested:
        raise NotScorable(f"the requested text column {requested!r} is not in the header; columns: {found}")
    raise NotScorable(
        f"no text column: name one 'text' or 'review' (or set the text-column metadata); columns: {found}"
    )


def _chunks(rows: Iterator[list[str]], size: int) -> Iterator[list[list[str]]]:
    while chunk := list(itertools.islice(rows, size)):
        yield chunk


def score_csv(
    source: IO[bytes],
    sink: IO[bytes],
    model: Scorer,
    text_column: str | None = None,
    progress: Callable[[int], None] | None = None,
    observer_for: Callable[[list[str], int], Observer] | None = None,
    explainer: Explainer | None = None,
) -> Summary:
    """Read CSV bytes from source, write the scored CSV (UTF-8) to sink, return the summary.

    observer_for, once the header is read, is given it and the text column's index, and returns
    the observer of the rows as written (a report's aggregate).

    Raises NotScorable for a file-level problem; row-level problems go in the row's error column.
    """
    started = time.perf_counter()
    head = source.read(SNIFF_BYTES)
    _check_head(head)
    has_bom = head.startswith(codecs.BOM_UTF8)
    stream = io.BufferedReader(_Prepend(head, source))
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    dialect = _sniff(head.decode("utf-8-sig", errors="replace"))
    reader = csv.reader(text, dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise NotScorable("the file has no header row") from None
    column = _find_text_column(header, text_column)
    summary = Summary(
        text_column=header[column].strip(),
        delimiter=dialect.delimiter,
        model=model_fields(model),
    )

    out = io.TextIOWrapper(sink, encoding="utf-8-sig" if has_bom else "utf-8", newline="", write_through=True)
    writer = csv.writer(out, delimiter=dialect.delimiter, lineterminator="\r\n")
    writer.writerow([*header, *output_columns(explainer is not None, header)])
    observe = observer_for(header, column) if observer_for else None
    score_rows(
        reader, writer, column, len(header), model, summary, progress, observe=observe, explainer=explainer
    )
    out.flush()
    out.detach()
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def score_rows(
    reader: Iterator[list[str]],
    writer,
    column: int,
    width: int,
    model: Scorer,
    summary: Summary,
    progress: Callable[[int], None] | None = None,
    first_row: int = 0,
    observe: Observer | None = None,
    explainer: Explainer | None = None,
) -> None:
    """Score the rows the reader yields, CHUNK_ROWS at a time; first_row numbers them in error messages."""
    try:
        for chunk in _chunks(reader, CHUNK_ROWS):
            done = summary.rows
            cells, predictions, errors, explanations = _score_chunk(
                chunk, column, width, model, writer, summary, explainer
            )
            if observe:
                observe(first_row + done + 1, cells, predictions, errors, explanations)
            if progress:
                progress(summary.rows)
    except csv.Error as error:
        raise NotScorable(f"CSV syntax error after row {first_row + summary.rows}: {error}") from None


def _row_error(row: list[str], column: int, width: int) -> str:
    if not any(cell.strip() for cell in row):
        return "empty row"
    if len(row) != width:
        return f"row has {len(row)} fields, the header has {width}"
    text = row[column]
    if not has_visible_text(text):  # whitespace, control or zero-width characters only
        return "empty text"
    if "\ufffd" in text:
        return "text is not valid UTF-8"
    return ""


def _score_chunk(
    chunk: list[list[str]],
    column: int,
    width: int,
    model: Scorer,
    writer,
    summary: Summary,
    explainer: Explainer | None = None,
) -> tuple[list[list[str]], dict[int, Prediction], list[str], dict[int, Explanation]]:
    shaped = [fit(row, width, writer.dialect.delimiter) for row in chunk]
    cells = [row for row, _ in shaped]
    errors = [shape or _row_error(row, column, width) for row, shape in shaped]
    scorable = [i for i, error in enumerate(errors) if not error]
    texts = [cells[i][column] for i in scorable]
    explanations = dict(zip(scorable, explainer(texts), strict=True)) if explainer else {}
    scored = [explanations[i].prediction for i in scorable] if explainer else model.predict(texts)
    predictions = dict(zip(scorable, scored, strict=True))
    for i, row in enumerate(cells):
        why = csv_cells(row[column], explanations.get(i)) if explainer else []
        if i in predictions:
            p = predictions[i]
            writer.writerow([*row, p.label, f"{p.score:.6f}", "", *why])
            summary.scored += 1
            summary.positives += p.label == "positive"
        else:
            writer.writerow([*row, "", "", errors[i], *why])
            summary.rows_with_errors += 1
    summary.rows += len(chunk)
    summary.negatives = summary.scored - summary.positives
    return cells, predictions, errors, explanations


class _Prepend(io.RawIOBase):
    """A raw stream of `head` then the rest of `source` (which may be a non-seekable network body)."""

    def __init__(self, head: bytes, source: IO[bytes]) -> None:
        self._head, self._source = memoryview(head), source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._source.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
