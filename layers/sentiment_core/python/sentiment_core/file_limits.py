"""The owner's caps on one CSV file, enforced while it is read, and what a .csv.gz will expand to.

A file over a cap raises OverCap (a NotScorable, so both paths reject it with its reason) carrying
a `limit` block: what was counted, the cap and the template parameter that would allow the file.
Readers stop at the cap, not after the file has been read. Pure: no AWS here.
"""

from __future__ import annotations

import gzip
import io
import struct
from dataclasses import dataclass
from typing import IO

from sentiment_core.csv_scoring import NotScorable
from sentiment_core.pricing import PRICE_PER_STATE_TRANSITION, STATES_PER_CHUNK, lambda_cost
from sentiment_core.settings import Settings

GZIP_MIN_BYTES = 20  # 10-byte header, the smallest deflate stream, 8-byte trailer (CRC-32, ISIZE)
DEFLATE_MAX_RATIO = 1032  # deflate's best case: 258 bytes from a 2-bit code (zlib's FAQ)
ISIZE_WRAP = 1 << 32  # the trailer holds the expanded size modulo 4 GiB
# Incompressible data is stored in blocks of at most 65,535 bytes, 5 bytes of framing each; a header
# may add a file name or comment: allow that much over the expanded size before calling it a lie.
STORED_BLOCK, STORED_FRAMING, HEADER_ALLOWANCE = 65_535, 5, 4096
# A ratio is judged only from this many expanded bytes on: a tiny file of one repeated row is no bomb.
RATIO_FLOOR_BYTES = 1024 * 1024
# The fan-out's price of a row: IMDB-length reviews (about 1,300 bytes) score at 25.45 rows/s on one
# vCPU (benchmarks/report/report.md, "CSV fan-out"); a row costs in proportion to its length, within
# these bounds (the model reads at most 512 word pieces; a tiny row still pays its share of a batch).
IMDB_ROWS_PER_VCPU_SECOND = 25.45
IMDB_ROW_BYTES = 1300
ROW_COST_BOUNDS = (0.1, 2.0)
# An explained row costs its spans + 2 passes (explain.py): 12 at the median over 500 IMDB test
# reviews (docs/explanations.md, "Fidelity and cost, measured").
EXPLAINED_ROW_PASSES = 12
ONE_VCPU_MB = 1769


@dataclass(frozen=True)
class Caps:
    max_bytes: int
    max_rows: int
    max_cost_usd: float
    max_expansion_ratio: float

    @classmethod
    def of(cls, settings: Settings) -> Caps:
        return cls(
            settings.max_file_bytes,
            settings.max_file_rows,
            settings.max_file_cost_usd,
            settings.max_expansion_ratio,
        )


class OverCap(NotScorable):
    """The file passes one of the owner's caps; `limit` says which, by how much, and what allows it."""

    def __init__(self, message: str, limit: dict) -> None:
        super().__init__(message)
        self.limit = limit


def check_bytes(expanded: int, caps: Caps, exact: bool = False) -> None:
    if expanded > caps.max_bytes:
        more = "" if exact else "more than "
        raise OverCap(
            f"the file holds {more}{caps.max_bytes:,} bytes of CSV ({expanded:,} read), over the cap of "
            f"{caps.max_bytes:,} bytes: split it, or raise the template parameter MaxFileBytes",
            _limit("bytes", expanded, caps.max_bytes, "MaxFileBytes", exact),
        )


def check_rows(rows: int, caps: Caps) -> None:
    if rows > caps.max_rows:
        raise OverCap(
            f"the file has more than {caps.max_rows:,} rows, the cap: split it, or raise the template "
            "parameter MaxFileRows",
            _limit("rows", rows, caps.max_rows, "MaxFileRows", False),
        )


def check_ratio(expanded: int, compressed: int, caps: Caps, exact: bool = False) -> None:
    if expanded >= RATIO_FLOOR_BYTES and expanded > caps.max_expansion_ratio * max(compressed, 1):
        ratio = expanded / max(compressed, 1)
        raise OverCap(
            f"the .csv.gz expands {ratio:,.0f} times ({compressed:,} compressed bytes to "
            f"{'' if exact else 'at least '}{expanded:,}), over the cap of {caps.max_expansion_ratio:g}: "
            "CSV text compresses 3 to 10 times, so this looks like a decompression bomb; "
            "upload it uncompressed, or raise the template parameter MaxExpansionRatio",
            {
                **_limit(
                    "expansion_ratio", round(ratio, 1), caps.max_expansion_ratio, "MaxExpansionRatio", exact
                ),
                "compressed_bytes": compressed,
                "expanded_bytes": expanded,
            },
        )


def estimated_cost(rows: int, data_bytes: int, chunks: int, explained: bool = False) -> float:
    """The fan-out's cost in USD: chunk functions' compute and requests, and the state transitions."""
    if not rows:
        return 0.0
    low, high = ROW_COST_BOUNDS
    weight = min(high, max(low, data_bytes / rows / IMDB_ROW_BYTES))
    weight *= EXPLAINED_ROW_PASSES if explained else 1
    seconds = rows * weight / IMDB_ROWS_PER_VCPU_SECOND  # on one vCPU: more memory buys time, not cost
    cost = lambda_cost(seconds, ONE_VCPU_MB, chunks) + chunks * STATES_PER_CHUNK * PRICE_PER_STATE_TRANSITION
    return round(cost, 6)


def check_cost(cost_usd: float, rows: int, caps: Caps) -> None:
    if cost_usd > caps.max_cost_usd:
        raise OverCap(
            f"scoring the file's {rows:,} rows is estimated at ${cost_usd:,.4f}, over the cap of "
            f"${caps.max_cost_usd:g}: split it, or raise the template parameter MaxFileCostUsd",
            {**_limit("cost_usd", cost_usd, caps.max_cost_usd, "MaxFileCostUsd", True), "rows": rows},
        )


def _limit(name: str, found: float, cap: float, parameter: str, exact: bool) -> dict:
    return {"name": name, "found": found, "at_least": not exact, "cap": cap, "parameter": parameter}


class Counting(io.RawIOBase):
    """A forward-only view of a stream that counts the bytes read through it."""

    def __init__(self, source: IO[bytes]) -> None:
        self._source, self.count = source, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._source.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)


class MoreThanExpected(Exception):
    """A .csv.gz expanded past the size its trailer gave (a multi-member file): measure it again."""


class Limited(Counting):
    """The CSV bytes of a file, stopped at the byte cap and, for a .csv.gz, at the expansion cap.

    `compressed` counts the bytes of the .gz read so far; `expected` is the size the trailer
    promised, past which MoreThanExpected is raised.
    """

    def __init__(
        self, source: IO[bytes], caps: Caps, compressed: Counting | None = None, expected: int | None = None
    ) -> None:
        super().__init__(source)
        self.caps, self.compressed, self.expected = caps, compressed, expected

    def readinto(self, buffer) -> int:
        n = super().readinto(buffer)
        check_bytes(self.count, self.caps)
        if self.compressed is not None:
            check_ratio(self.count, self.compressed.count, self.caps)
        if self.expected is not None and self.count > self.expected:
            raise MoreThanExpected
        return n


def trailer_size(compressed_bytes: int, trailer: bytes) -> int | None:
    """The expanded size a .gz's last 4 bytes give, where it can be trusted; else None (read it).

    Not trusted: a file too short to be gzip, one that may hold 4 GiB or more (the field wraps), or
    a size deflate could not produce from these bytes (over 1,032 times, or less than stored data
    holds). A multi-member file passes these checks with its last member's size: Limited catches it.
    """
    if compressed_bytes < GZIP_MIN_BYTES or len(trailer) != 4:
        return None
    (size,) = struct.unpack("<I", trailer)
    if compressed_bytes * DEFLATE_MAX_RATIO >= ISIZE_WRAP or size > compressed_bytes * DEFLATE_MAX_RATIO:
        return None
    stored = size + STORED_FRAMING * (size // STORED_BLOCK + 1) + GZIP_MIN_BYTES + HEADER_ALLOWANCE
    return size if compressed_bytes <= stored else None


def measure_gzip(body: IO[bytes], caps: Caps, stop_at: int) -> int:
    """Decompress without scoring, counting, until stop_at bytes or the end (every member), under the
    caps as while scoring. Raises what gzip raises for a file that is not gzip, OverCap over a cap."""
    compressed = Counting(body)
    expanded = Limited(gzip.GzipFile(fileobj=compressed), caps, compressed)
    while expanded.count < stop_at and expanded.read(1024 * 1024):
        pass
    return expanded.count
