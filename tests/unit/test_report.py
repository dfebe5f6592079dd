"""The report's figures and page: right numbers, a self-contained page, every file text escaped."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from sentiment_core.csv_scoring import score_csv
from sentiment_core.file_summary import FileAggregate
from sentiment_core.report import CSP, figures, render, wilson
from tests.fakes import FakeModel

HOSTILE = '<script>alert("x")</script><img src=https://evil.example/x.png onerror=alert(1)>'


def aggregate_of(text: str, group_column: str | None = None) -> FileAggregate:
    aggregates: list[FileAggregate] = []

    def observer_for(header, column):
        aggregates.append(FileAggregate(header, column, group_column))
        return aggregates[0].add

    score_csv(io.BytesIO(text.encode()), io.BytesIO(), FakeModel(), observer_for=observer_for)
    return aggregates[0]


def movie_file(n: int, days: int = 1, hostile: bool = False) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["id", "movie", "date", "review"])
    for i in range(n):
        movie = HOSTILE if hostile and i % 4 == 0 else f"Movie {i % 4}"
        day = dt.date(2026, 1, 1) + dt.timedelta(days=i * days)
        review = (HOSTILE if hostile and i == 2 else "") + (" wonderful film" if i % 3 else " dreadful film")
        writer.writerow([i, movie, day.isoformat(), review])
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("k", "n", "expected"),
    [(8, 10, (0.4902, 0.9433)), (0, 10, (0.0, 0.2775)), (50, 100, (0.4038, 0.5962)), (1, 1, (0.2065, 1.0))],
)
def test_wilson_interval(k, n, expected):
    lo, hi = wilson(k, n)
    assert (round(lo, 4), round(hi, 4)) == expected


def test_wilson_of_nothing_is_none():
    assert wilson(0, 0) is None


def test_figures_count_share_group_and_timeline():
    numbers = figures(aggregate_of(movie_file(120)), {"name": "m", "version": "1"}, 2.5, 0.0012)
    assert (numbers["rows"], numbers["scored"], numbers["rows_with_errors"]) == (120, 120, 0)
    assert numbers["text_column"] == "review"
    assert numbers["positive"]["positives"] == 80 and numbers["positive"]["share"] == pytest.approx(80 / 120)
    assert numbers["positive"]["interval_95"] == wilson(80, 120)
    assert sum(numbers["histogram"]["counts"]) == 120 and numbers["histogram"]["bins"] == 20
    group = numbers["group"]
    assert group["column"] == "movie" and group["source"] == "detected"  # 4 values over 120 rows
    assert [g["rows"] for g in group["groups"]] == [30, 30, 30, 30]
    assert numbers["timeline"]["column"] == "date" and numbers["timeline"]["bucket"] == "week"  # 119 days
    assert sum(p["rows"] for p in numbers["timeline"]["points"]) == 120
    assert (numbers["seconds"], numbers["cost_usd"], numbers["model"]["version"]) == (2.5, 0.0012, "1")


@pytest.mark.parametrize(("days", "bucket"), [(1, "day"), (3, "week"), (15, "month")])
def test_the_timeline_bucket_follows_the_span(days, bucket):
    numbers = figures(aggregate_of(movie_file(60, days)), {}, 1.0, None)  # spans 59, 177 and 885 days
    assert numbers["timeline"]["bucket"] == bucket
    keys = [p["period"] for p in numbers["timeline"]["points"]]
    assert keys == sorted(keys) and sum(p["rows"] for p in numbers["timeline"]["points"]) == 60
    if bucket == "week":
        assert all(dt.date.fromisoformat(k).weekday() == 0 for k in keys)  # weeks start on Monday


def test_a_named_group_column_wins_and_a_missing_one_is_said():
    numbers = figures(aggregate_of(movie_file(40), group_column="ID"), {}, 1.0, None)
    assert numbers["group"]["column"] == "id" and numbers["group"]["source"] == "named"
    assert len(numbers["group"]["groups"]) == 40  # a named column may have many values
    missing = figures(aggregate_of(movie_file(40), group_column="product"), {}, 1.0, None)
    assert missing["group"]["note"] == "not in the header" and missing["group"]["groups"] == []


def test_a_mostly_blank_column_is_not_a_group():
    text = "note,text\n" + "".join(f"{'x' if i < 3 else ''},A wonderful film {i}.\n" for i in range(12))
    assert figures(aggregate_of(text.replace("x,A", "y,A", 1)), {}, 1.0, None)["group"] is None


def test_no_group_and_no_timeline_in_a_text_only_file():
    numbers = figures(aggregate_of("text\nA wonderful film.\nDreadful.\n"), {}, 1.0, None)
    assert numbers["group"] is None and numbers["timeline"] is None
    assert "<h2>By " not in render(numbers, "a.csv") and "Over time" not in render(numbers, "a.csv")


def test_the_page_is_self_contained_and_escapes_every_file_text():
    numbers = figures(aggregate_of(movie_file(120, hostile=True)), {"name": "m<b>", "version": "1"}, 1.0, 0.5)
    assert numbers["group"]["groups"][0]["value"] == HOSTILE and numbers["most_negative"]
    page = render(numbers, '<script>bad</script>".csv')
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in page
    assert "<script" not in page.lower()  # the hostile text is inert: shown as text, never a tag
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page  # shown, escaped
    assert not re.search(r"https?://", page.replace("https://evil.example", ""))  # no URL of its own
    assert "evil.example" not in re.sub(r"&lt;img src=https://evil\.example/x\.png", "", page)
    assert not re.search(r"<(link|img|iframe|object|embed)\b", page) and "@import" not in page
    assert "url(" not in page and "m&lt;b&gt; 1" in page


def test_a_hostile_column_name_is_escaped_too():
    numbers = figures(aggregate_of('"<b>x</b>",text\na,good\nb,bad\na,fine\nb,ok\na,x\nb,y\n'), {}, 1.0, None)
    assert numbers["group"]["column"] == "<b>x</b>"
    assert "<b>x" not in render(numbers, "x.csv") and "By &lt;b&gt;x&lt;/b&gt;" in render(numbers, "x.csv")


def test_an_empty_file_has_a_page_without_charts():
    numbers = figures(aggregate_of("text\n"), {}, 0.1, None)
    page = render(numbers, "empty.csv")
    assert numbers["positive"]["share"] is None and numbers["positive"]["interval_95"] is None
    assert "<svg" not in page and "n/a" in page
