"""Cut a CSV into chunks of whole rows, and score one chunk alone, so chunks can be scored in parallel.

The planner reads the file once with the same reader the single-invocation path uses (sniffed
delimiter, BOM, quoted fields with delimiters and newlines, CRLF) and records where each chunk's
rows start and end in bytes. A chunk scorer then reads only its byte range; the scored chunks,
concatenated in order after the output header, are the file `score_csv` writes.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import IO

from sentiment_core.csv_scoring import (
    SNIFF_BYTES,
    Explainer,
    NotScorable,
    Observer,
    Scorer,
    Summary,
    _check_head,
    _find_text_column,
    _Prepend,
    _sniff,
    output_columns,
    score_rows,
)
from sentiment_core.file_limits import Caps, check_rows

# Lines end where io.TextIOWrapper(newline="") ends them (\r\n, \r or \n, kept): the csv module
# sees the same strings on both paths.
_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)")
READ_BLOCK = 1 << 20


@dataclass(frozen=True)
class Layout:
    """What a chunk needs to know of the whole file to be scored alone."""

    delimiter: str
    header: list[str]
    column: int
    has_bom: bool
    explain: bool = False  # the file asked for explanations: its rows gain the explain columns

    def as_dict(self) -> dict:
        return asdict(self)

    def output_header(self) -> bytes:
        """The scored file's first line (with the source's BOM, if it had one)."""
        buffer = io.StringIO(newline="")
        csv.writer(buffer, delimiter=self.delimiter, lineterminator="\r\n").writerow(
            [*self.header, *output_columns(self.explain, self.header)]
        )
        return (codecs.BOM_UTF8 if self.has_bom else b"") + buffer.getvalue().encode()


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int  # byte offset of the chunk's first row
    end: int  # byte offset just past its last row
    first_row: int  # 0-based number of its first data row in the file
    rows: int

    def as_dict(self) -> dict:
        return asdict(self)


class _Lines:
    """Decoded lines of a byte stream, counting the bytes handed out so far."""

    def __init__(self, source: IO[bytes], strip_bom: bool = False) -> None:
        self._source, self._strip_bom, self.consumed = source, strip_bom, 0

    def _raw(self) -> Iterator[bytes]:
        pending = b""
        while True:
            data = self._source.read(READ_BLOCK)
            buffer = pending + data
            position = 0
            for match in _LINE.finditer(buffer):
                # A \r at the end of a block may be the first half of \r\n: wait for the next block.
                if data and match.end() == len(buffer) and buffer.endswith(b"\r"):
                    break
                position = match.end()
                yield match.group()
            pending = buffer[position:]
            if not data:
                if pending:
                    yield pending
                return

    def __iter__(self) -> Iterator[str]:
        for line in self._raw():
            self.consumed += len(line)
            if self._strip_bom:
                self._strip_bom = False
                line = line.removeprefix(codecs.BOM_UTF8)
            yield line.decode("utf-8", errors="replace")


def plan_chunks(
    source: IO[bytes], chunk_rows: int, text_column: str | None = None, caps: Caps | None = None
) -> tuple[Layout, list[Chunk]]:
    """Read the whole file once; return its layout and chunks of at most chunk_rows rows each.

    Raises NotScorable for the same files `score_csv` rejects, with the same reasons, and OverCap as
    soon as the file has more rows than caps allow.
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be at least 1")
    head = source.read(SNIFF_BYTES)
    _check_head(head)
    dialect = _sniff(head.decode("utf-8-sig", errors="replace"))
    lines = _Lines(io.BufferedReader(_Prepend(head, source)), strip_bom=True)
    reader = csv.reader(lines, dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise NotScorable("the file has no header row") from None
    layout = Layout(
        delimiter=dialect.delimiter,
        header=header,
        column=_find_text_column(header, text_column),
        has_bom=head.startswith(codecs.BOM_UTF8),
    )
    chunks: list[Chunk] = []
    start, first, rows = lines.consumed, 0, 0
    max_rows = caps.max_rows if caps else float("inf")

    def close_chunk() -> None:
        nonlocal start, first
        chunks.append(Chunk(len(chunks), start, lines.consumed, first, rows - first))
        start, first = lines.consumed, rows

    try:
        for _ in reader:
            rows += 1
            if rows > max_rows:
                check_rows(rows, caps)
            if rows - first == chunk_rows:
                close_chunk()
    except csv.Error as error:
        raise NotScorable(f"CSV syntax error after row {rows}: {error}") from None
    if rows > first:
        close_chunk()
    return layout, chunks


def score_chunk(
    source: IO[bytes],
    sink: IO[bytes],
    model: Scorer,
    layout: Layout,
    first_row: int = 0,
    progress: Callable[[int], None] | None = None,
    observe: Observer | None = None,
    explainer: Explainer | None = None,
) -> Summary:
    """Score the rows in source (one chunk's bytes) to sink: scored rows only, no header, no BOM.

    A layout with `explain` needs an explainer (the service's `MeteredModel.explain`)."""
    if layout.explain and explainer is None:
        raise ValueError("the layout asks for explanations: pass an explainer")
    started = time.perf_counter()
    dialect = type("Chunk", (csv.excel,), {"delimiter": layout.delimiter})
    reader = csv.reader(_Lines(source), dialect)
    out = io.TextIOWrapper(sink, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(out, delimiter=layout.delimiter, lineterminator="\r\n")
    summary = Summary(
        text_column=layout.header[layout.column].strip(),
        delimiter=layout.delimiter,
        model={"name": model.name, "version": model.version},
    )
    score_rows(
        reader,
        writer,
        layout.column,
        len(layout.header),
        model,
        summary,
        progress,
        first_row,
        observe,
        explainer if layout.explain else None,
    )
    out.flush()
    out.detach()
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def add_summaries(total: Summary, part: Summary) -> None:
    """Fold a chunk's counts into the file's."""
    total.rows += part.rows
    total.scored += part.scored
    total.positives += part.positives
    total.negatives += part.negatives
    total.rows_with_errors += part.rows_with_errors
