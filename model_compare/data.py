"""The rows to compare on: a CSV (or .csv.gz) with a text column and, optionally, a `label` column.

The text column is found as the service finds it (sentiment_core.csv_scoring: `text` or `review`, the
delimiter sniffed); labels are positive/negative or 1/0. Without a label column only agreement is
reported.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
from dataclasses import dataclass
from pathlib import Path

from sentiment_core.csv_scoring import SNIFF_BYTES, _find_text_column, _sniff
from sentiment_core.preprocess import has_visible_text

LABEL_COLUMN = "label"
LABELS = {"positive": True, "pos": True, "1": True, "negative": False, "neg": False, "0": False}
SAMPLE_SEED = 0  # the same LIMIT rows on every run, so two runs compare the same sample


class DataError(ValueError):
    """The file cannot be compared on; the message says why."""


@dataclass(frozen=True)
class Rows:
    texts: list[str]
    positive: list[bool] | None  # the labels, None without a label column
    line_numbers: list[int]  # each row's line in the file (header = 1), for the report
    total: int  # rows with a text in the file (before LIMIT)
    skipped_empty: int


def _open(path: Path) -> io.TextIOWrapper:
    raw = path.open("rb")
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        return io.TextIOWrapper(gzip.GzipFile(fileobj=raw), encoding="utf-8-sig", newline="")
    raw.seek(0)
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def read_rows(path: Path, limit: int | None = None, text_column: str | None = None) -> Rows:
    """The file's rows with a visible text; with `limit`, that many drawn at random (seeded), in file
    order: files are often sorted by label, so their first rows would all be one class."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    with _open(path) as text:
        try:
            head = text.read(SNIFF_BYTES)
        except (UnicodeDecodeError, OSError, EOFError) as error:
            raise DataError(f"{path}: not a UTF-8 CSV ({error})") from None
        text.seek(0)
        reader = csv.reader(text, _sniff(head))
        header = next(reader, None)
        if not header:
            raise DataError(f"{path}: the file has no header row")
        try:
            column = _find_text_column(header, text_column)
        except ValueError as error:
            raise DataError(f"{path}: {error}") from None
        names = [h.strip().lower() for h in header]
        label = names.index(LABEL_COLUMN) if LABEL_COLUMN in names else None
        texts, positive, lines, skipped = [], [], [], 0
        try:
            for line, row in enumerate(reader, start=2):
                cell = row[column] if column < len(row) else ""
                if not has_visible_text(cell):
                    skipped += 1
                    continue
                if label is not None:
                    value = (row[label] if label < len(row) else "").strip().lower()
                    if value not in LABELS:
                        raise DataError(
                            f"{path}: line {line}: label {value!r} is not positive/negative or 1/0"
                        )
                    positive.append(LABELS[value])
                texts.append(cell)
                lines.append(line)
        except (csv.Error, UnicodeDecodeError, OSError, EOFError) as error:
            raise DataError(f"{path}: unreadable near line {len(lines) + skipped + 2} ({error})") from None
    if not texts:
        raise DataError(f"{path}: no row has a text")
    total = len(texts)
    if limit is not None and limit < total:
        keep = sorted(random.Random(SAMPLE_SEED).sample(range(total), limit))  # noqa: S311 (a sample, not a secret)
        texts, lines = [texts[i] for i in keep], [lines[i] for i in keep]
        positive = [positive[i] for i in keep] if label is not None else positive
    return Rows(texts, positive if label is not None else None, lines, total, skipped)
