"""An explained file's report: each top review carries its key sentence, merged exactly across chunks."""

from __future__ import annotations

import csv
import functools
import io
import json
import random

import pytest

from sentiment_core import file_summary
from sentiment_core.chunking import plan_chunks, score_chunk
from sentiment_core.csv_scoring import score_csv
from sentiment_core.explain import explain
from sentiment_core.file_summary import FileAggregate
from sentiment_core.report import figures, render
from tests.fakes import FakeModel

HOSTILE = '<script>alert("x")</script> a wonderful film'
OPENINGS = ["I saw it on a Tuesday.", "My brother chose it.", "The seats were blue."]
VERDICTS = [
    "It is a wonderful, moving film.",
    "Great fun and loved every minute.",
    "Dull and boring.",
    "Awful, dreadful acting.",
    "The plot is fine.",
]


def explained_reviews(n: int, seed: int = 5) -> bytes:
    rng = random.Random(seed)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["id", "text"])
    for i in range(n):
        sentences = [rng.choice(OPENINGS), *rng.choices(VERDICTS, k=rng.randint(1, 3)), rng.choice(OPENINGS)]
        if i == 11:
            sentences[1] = "Superb " + "and wonderful " * 40 + "film."  # a sentence longer than an excerpt
        if i == 17:
            sentences[1] = HOSTILE + " and great fun, loved it."
        writer.writerow([i, " ".join(sentences) if i % 29 != 3 else " "])
    return buffer.getvalue().encode()


def explainer(model: FakeModel):
    return functools.partial(explain, model)


def whole(data: bytes) -> tuple[FileAggregate, list[list[str]]]:
    aggregates: list[FileAggregate] = []

    def observer_for(header, column):
        aggregates.append(FileAggregate(header, column))
        return aggregates[0].add

    model, sink = FakeModel(), io.BytesIO()
    score_csv(io.BytesIO(data), sink, model, observer_for=observer_for, explainer=explainer(model))
    return aggregates[0], list(csv.reader(io.StringIO(sink.getvalue().decode(), newline="")))


def merged(data: bytes, chunk_rows: int) -> FileAggregate:
    layout, chunks = plan_chunks(io.BytesIO(data), chunk_rows)
    layout = type(layout)(**{**layout.as_dict(), "explain": True})
    total = FileAggregate(layout.header, layout.column)
    for chunk in chunks:
        part, model = FileAggregate(layout.header, layout.column), FakeModel()
        source = io.BytesIO(data[chunk.start : chunk.end])
        score_chunk(
            source, io.BytesIO(), model, layout, chunk.first_row, observe=part.add, explainer=explainer(model)
        )
        total.merge(FileAggregate.from_dict(json.loads(json.dumps(part.as_dict()))))
    return total


@pytest.mark.parametrize("chunk_rows", [1, 6, 1000])
def test_merged_explained_aggregates_equal_the_whole_file_key_sentences_included(chunk_rows):
    data = explained_reviews(120)
    aggregate, _ = whole(data)
    assert merged(data, chunk_rows).as_dict() == aggregate.as_dict()


def test_each_top_review_carries_the_key_sentence_of_its_row():
    aggregate, table = whole(explained_reviews(120))
    header, rows = table[0], table[1:]
    column = {name: header.index(name) for name in header}
    for which in ("positive", "negative"):
        tops = aggregate.top(which)
        assert len(tops) == file_summary.TOP
        for top in tops:
            row = rows[top["row"] - 1]
            side = "positive" if row[column["label"]] == "positive" else "negative"
            sentence = row[column[f"top_{side}_sentence"]]
            if not sentence:  # no sentence pushed the review toward its label
                assert "key_sentence" not in top
                continue
            key = top["key_sentence"]
            assert key["text"] == file_summary.excerpt(sentence)
            assert len(key["text"]) <= file_summary.EXCERPT_CHARS
            assert f"{key['contribution']:.6f}" == row[column[f"top_{side}_contribution"]]
            assert (key["contribution"] > 0) is (side == "positive")
    assert any("key_sentence" in top for top in aggregate.top("positive"))
    assert any("key_sentence" in top for top in aggregate.top("negative"))
    long = [t for t in aggregate.top("positive") if t["row"] == 12]
    assert long and long[0]["key_sentence"]["text"].endswith("\u2026")  # cut as an excerpt is


def test_a_plain_file_has_no_key_sentences():
    aggregates: list[FileAggregate] = []

    def observer_for(header, column):
        aggregates.append(FileAggregate(header, column))
        return aggregates[0].add

    score_csv(io.BytesIO(explained_reviews(40)), io.BytesIO(), FakeModel(), observer_for=observer_for)
    numbers = figures(aggregates[0], {}, 1.0, None)
    assert not any("key_sentence" in t for t in numbers["most_positive"] + numbers["most_negative"])
    assert "Key sentence" not in render(numbers, "plain.csv")


def test_the_report_shows_the_key_sentences_escaped():
    aggregate, _ = whole(explained_reviews(120))
    numbers = figures(aggregate, {"name": "m", "version": "1"}, 1.0, None)
    hostile = [t for t in numbers["most_positive"] if t["row"] == 18]
    assert hostile and hostile[0]["key_sentence"]["text"].startswith("<script>")
    page = render(numbers, "why.csv")
    assert "<script" not in page.lower() and "&lt;script&gt;alert(&quot;x&quot;)" in page
    for top in numbers["most_positive"] + numbers["most_negative"]:
        if "key_sentence" in top:
            assert f"({top['key_sentence']['contribution']:+.2g})" in page
    assert page.count("<p class=key>") == sum(
        "key_sentence" in t for t in numbers["most_positive"] + numbers["most_negative"]
    )
