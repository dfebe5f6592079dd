"""The owner's caps while a file is read, and when a gzip trailer's size can be trusted."""

from __future__ import annotations

import gzip
import io
import os
import struct

import pytest

from sentiment_core.chunking import plan_chunks
from sentiment_core.file_limits import (
    DEFLATE_MAX_RATIO,
    ISIZE_WRAP,
    Caps,
    Counting,
    Limited,
    MoreThanExpected,
    OverCap,
    check_cost,
    estimated_cost,
    measure_gzip,
    trailer_size,
)
from sentiment_core.settings import Settings

CAPS = Caps(max_bytes=10_000_000, max_rows=1000, max_cost_usd=1.0, max_expansion_ratio=100)


class Endless(io.RawIOBase):
    """Rows for ever, counting what was taken: a reader that stops at a cap stops taking."""

    def __init__(self, row: bytes = b"a\n", header: bytes = b"text\n") -> None:
        self.pending, self.row, self.taken = header, row, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while len(self.pending) < len(buffer):
            self.pending += self.row * 4096
        buffer[:] = self.pending[: len(buffer)]
        self.pending = self.pending[len(buffer) :]
        self.taken += len(buffer)
        return len(buffer)


def csv_text(rows: int) -> bytes:
    """Rows of varied words: compresses as real text does (a few times), not as a bomb."""
    words = [os.urandom(3).hex() for _ in range(500)]
    return b"id,text\n" + b"".join(
        f"{i},{' '.join(words[i % 400 : i % 400 + 12])}\n".encode() for i in range(rows)
    )


def test_the_defaults_allow_a_million_rows_two_gib_a_dollar_and_a_hundredfold_expansion():
    caps = Caps.of(Settings.from_env({}))
    assert caps == Caps(2 * 1024**3, 1_000_000, 1.0, 100)
    # A million IMDB-length rows (1,300 bytes) in 500 chunks of the template's 2,000: about $0.94.
    assert estimated_cost(1_000_000, 1_300_000_000, 500) == pytest.approx(0.943, abs=0.005)


def test_the_byte_cap_stops_the_read_at_the_cap_not_after():
    source = Endless()
    reader = Limited(source, CAPS)
    with pytest.raises(OverCap) as caught:
        while reader.read(1 << 20):
            pass
    assert source.taken <= CAPS.max_bytes + (1 << 20)
    limit = caught.value.limit
    assert (
        limit["name"] == "bytes" and limit["parameter"] == "MaxFileBytes" and limit["cap"] == CAPS.max_bytes
    )
    assert limit["at_least"] and limit["found"] > CAPS.max_bytes
    assert "MaxFileBytes" in str(caught.value)


def test_a_gzip_bomb_stops_at_the_expansion_cap_a_small_fraction_in():
    bomb = gzip.compress(b"text\n" + b"a\n" * 30_000_000, 9)  # 60 MB in tens of KB
    assert len(bomb) < 100_000
    with pytest.raises(OverCap) as caught:
        measure_gzip(io.BytesIO(bomb), CAPS, stop_at=10**12)
    limit = caught.value.limit
    assert limit["name"] == "expansion_ratio" and limit["parameter"] == "MaxExpansionRatio"
    assert limit["expanded_bytes"] < 20_000_000 and limit["found"] > 100
    assert "decompression bomb" in str(caught.value)


def test_real_text_is_measured_across_every_member_and_stops_where_asked():
    text = csv_text(20_000)
    two_members = gzip.compress(text[:100_000]) + gzip.compress(text[100_000:])
    assert measure_gzip(io.BytesIO(two_members), CAPS, stop_at=10**12) == len(text)
    assert measure_gzip(io.BytesIO(two_members), CAPS, stop_at=50_000) < len(text)


def test_the_trailer_is_trusted_for_an_ordinary_file():
    text = csv_text(5000)
    packed = gzip.compress(text)
    assert trailer_size(len(packed), packed[-4:]) == len(text)


def test_a_file_too_short_for_gzip_has_no_trusted_size():
    assert trailer_size(12, b"\x00\x00\x10\x00") is None
    assert trailer_size(100, b"\x01") is None


def test_a_size_deflate_cannot_produce_is_not_trusted():
    packed = gzip.compress(csv_text(10_000))
    impossible = struct.pack("<I", len(packed) * (DEFLATE_MAX_RATIO + 1))
    assert trailer_size(len(packed), impossible) is None
    smaller_than_stored = struct.pack("<I", len(packed) // 4)  # less than the compressed bytes hold
    assert trailer_size(len(packed), smaller_than_stored) is None


def test_a_file_that_may_hold_4_gib_or_more_has_no_trusted_size():
    compressed = ISIZE_WRAP // DEFLATE_MAX_RATIO + 1  # the 32-bit field could have wrapped
    assert trailer_size(compressed, struct.pack("<I", compressed * 10)) is None


def test_a_multi_member_file_gives_its_last_members_size_and_is_caught_while_read():
    text = csv_text(20_000)
    half = len(text) // 2
    packed = gzip.compress(text[:half]) + gzip.compress(text[half:])
    promised = trailer_size(len(packed), packed[-4:])
    assert promised == len(text) - half  # plausible for the bytes, and wrong
    compressed = Counting(io.BytesIO(packed))
    reader = Limited(gzip.GzipFile(fileobj=compressed), CAPS, compressed, expected=promised)
    with pytest.raises(MoreThanExpected):
        reader.read(1 << 20)


def test_the_row_cap_stops_the_split_at_the_first_row_over():
    source = Endless()
    with pytest.raises(OverCap) as caught:
        plan_chunks(io.BufferedReader(source), 100, caps=CAPS)
    assert caught.value.limit == {
        "name": "rows",
        "found": 1001,
        "at_least": True,
        "cap": 1000,
        "parameter": "MaxFileRows",
    }
    assert source.taken < 2 * 1024 * 1024  # 1,001 two-byte rows, and the reader's read-ahead
    assert "MaxFileRows" in str(caught.value)


def test_the_cost_cap_names_the_estimate():
    cost = estimated_cost(100_000, 130_000_000, 50)
    with pytest.raises(OverCap) as caught:
        check_cost(cost, 100_000, Caps(10**9, 10**9, 0.05, 100))
    limit = caught.value.limit
    assert limit["name"] == "cost_usd" and limit["found"] == cost and limit["parameter"] == "MaxFileCostUsd"
    assert f"${cost:,.4f}" in str(caught.value)
    check_cost(cost, 100_000, Caps(10**9, 10**9, 1.0, 100))  # under the cap: no complaint


def test_short_rows_cost_less_than_long_ones_within_bounds():
    tiny, imdb, huge = (estimated_cost(10_000, 10_000 * size, 5) for size in (2, 1300, 100_000))
    assert tiny < imdb < huge <= 2.2 * imdb and tiny > 0.05 * imdb
