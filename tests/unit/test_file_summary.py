"""The report's aggregate: merged chunk aggregates equal the whole file's, in bounded memory."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random

import pytest

from sentiment_core import file_summary
from sentiment_core.chunking import plan_chunks, score_chunk
from sentiment_core.csv_scoring import score_csv
from sentiment_core.file_summary import FileAggregate, error_reason, parse_date
from tests.fakes import FakeModel

WORDS = ["wonderful", "great", "loved", "boring", "awful", "dreadful", "fine", "film", "plot"]
HEADER = ["id", "movie", "date", "stars", "text"]


def reviews(n: int, seed: int = 3) -> bytes:
    rng = random.Random(seed)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for i in range(n):
        day = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(400))
        text = " ".join(rng.choices(WORDS, k=rng.randint(1, 8)))
        row = [i, f"Movie {rng.randrange(6)}", day.isoformat(), rng.randrange(1, 11), text]
        if i % 97 == 5:
            row = row[:3]  # a short row
        elif i % 89 == 7:
            row += ["surplus"]
        elif i % 83 == 3:
            row[4] = " "
        writer.writerow(row)
    return buffer.getvalue().encode()


def whole(data: bytes, group_column: str | None = None) -> FileAggregate:
    aggregates: list[FileAggregate] = []

    def observer_for(header, column):
        aggregates.append(FileAggregate(header, column, group_column))
        return aggregates[0].add

    score_csv(io.BytesIO(data), io.BytesIO(), FakeModel(), observer_for=observer_for)
    return aggregates[0]


def merged(data: bytes, chunk_rows: int, group_column: str | None = None) -> FileAggregate:
    layout, chunks = plan_chunks(io.BytesIO(data), chunk_rows)
    total = FileAggregate(layout.header, layout.column, group_column)
    for chunk in chunks:
        part = FileAggregate(layout.header, layout.column, group_column)
        source = io.BytesIO(data[chunk.start : chunk.end])
        score_chunk(source, io.BytesIO(), FakeModel(), layout, chunk.first_row, observe=part.add)
        # Through JSON, as a chunk's aggregate travels to the merge.
        total.merge(FileAggregate.from_dict(json.loads(json.dumps(part.as_dict()))))
    return total


@pytest.mark.parametrize("chunk_rows", [1, 7, 100, 5000])
def test_merged_chunk_aggregates_equal_the_whole_file_exactly(chunk_rows):
    data = reviews(1500)
    assert merged(data, chunk_rows).as_dict() == whole(data).as_dict()
    assert merged(data, chunk_rows, "stars").as_dict() == whole(data, "stars").as_dict()


def test_counts_top_reviews_and_errors():
    aggregate = whole(reviews(1500))
    assert aggregate.rows == 1500 and sum(aggregate.histogram) == aggregate.scored
    assert aggregate.scored + sum(aggregate.errors.values()) == 1500
    assert set(aggregate.errors) == {
        "empty text",
        "fewer fields than the header (padded)",
        "more fields than the header (joined)",
    }
    best, worst = aggregate.top("positive"), aggregate.top("negative")
    assert len(best) == len(worst) == 5
    assert [b["probability"] for b in best] == sorted((b["probability"] for b in best), reverse=True)
    assert [w["probability"] for w in worst] == sorted(w["probability"] for w in worst)
    assert best[0]["probability"] > 0.9 > 0.1 > worst[0]["probability"]
    ties = [b["row"] for b in best if b["probability"] == best[0]["probability"]]
    assert ties == sorted(ties)  # equal probabilities: the earlier row first, whatever the chunking


def test_columns_with_many_values_or_long_values_give_up_and_stay_small():
    aggregate = whole(reviews(1500))
    values = {aggregate.header[i]: c.values for i, c in aggregate.columns.items()}
    assert values["id"] is None  # 1,500 distinct: past the cap
    assert values["date"] is None
    assert len(values["movie"]) == 6 and len(values["stars"]) <= 11
    periods = {aggregate.header[i]: c.periods for i, c in aggregate.columns.items()}
    assert periods["movie"] is None and periods["id"] is None  # not dates
    assert sum(counts[0] for counts in periods["date"].values()) == 1500  # short rows keep their date
    long_value = FileAggregate(["text", "note"], 0)
    long_value.columns[1].add("x" * (file_summary.MAX_VALUE_CHARS + 1), 0, 0)
    assert long_value.columns[1].values is None


def test_date_buckets_coarsen_past_the_cap_and_merge_at_the_coarser_level():
    days = [dt.date(2000, 1, 1) + dt.timedelta(days=i) for i in range(file_summary.MAX_PERIODS + 10)]
    one = file_summary.Column(cap=20)
    for day in days:
        one.add(day.isoformat(), 1, 0)
    assert one.level == "month" and len(one.periods) <= file_summary.MAX_PERIODS
    first, second = file_summary.Column(cap=20), file_summary.Column(cap=20)
    for i, day in enumerate(days):
        (first if i % 2 else second).add(day.isoformat(), 1, 0)
    assert first.level == second.level == "day"  # each half alone stays under the cap
    first.merge(second)
    assert first.as_dict() == one.as_dict()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-01", dt.date(2024, 3, 1)),
        ("2024/3/1", dt.date(2024, 3, 1)),
        ("2024-03-01T10:00:00Z", dt.date(2024, 3, 1)),
        ("2024-03-01 10:00:00+02:00", dt.date(2024, 3, 1)),
        ("1 Mar 2024", dt.date(2024, 3, 1)),
        ("March 1, 2024", dt.date(2024, 3, 1)),
        ("03/01/2024", None),  # day and month cannot be told apart
        ("2024-02-30", None),
        ("Movie 3", None),
        ("12", None),
    ],
)
def test_dates(value, expected):
    assert parse_date(value) == expected


def test_error_reasons_lose_their_numbers():
    assert error_reason("row has 5 fields, the header has 3: the last 3 are joined into the last column") == (
        "more fields than the header (joined)"
    )
    assert error_reason("row has 1 fields, the header has 3: padded with 2 empty fields") == (
        "fewer fields than the header (padded)"
    )
    assert error_reason("empty text") == "empty text"


def test_the_aggregate_of_a_huge_file_stays_the_size_of_a_small_one():
    small, large = whole(reviews(300, seed=1)), whole(reviews(6000, seed=1))
    assert len(json.dumps(large.as_dict())) < 2 * len(json.dumps(small.as_dict())) + 40_000
    assert len(large.most_positive) == len(large.most_negative) == file_summary.TOP
    assert all(len(entry[3]) <= file_summary.EXCERPT_CHARS for entry in large.most_positive)
