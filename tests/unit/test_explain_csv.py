"""Explained CSVs with the fake model: the four columns, on the single path, in chunks, and by metadata."""

from __future__ import annotations

import csv
import functools
import io

import boto3
import pytest

from sentiment_core.chunking import plan_chunks, score_chunk
from sentiment_core.csv_scoring import score_csv
from sentiment_core.explain import CSV_COLUMNS, Explanation, SentenceScore, csv_cells, explain
from sentiment_core.file_limits import EXPLAINED_ROW_PASSES, estimated_cost
from sentiment_core.file_options import explain_requested
from sentiment_core.pricing import PRICE_PER_STATE_TRANSITION, STATES_PER_CHUNK
from tests.fakes import FakeModel
from tests.helpers import context, s3_events

DATA = (
    b'id,text\r\n1,"I saw it on a Tuesday. It is a wonderful, moving film. The seats were blue."\r\n'
    b'2,"Dull and boring. Awful acting. The poster was nice."\r\n3,\r\n4,Great fun!,surplus\r\n'
)


def rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def explained_single(data: bytes) -> bytes:
    sink, model = io.BytesIO(), FakeModel()
    score_csv(io.BytesIO(data), sink, model, explainer=functools.partial(explain, model))
    return sink.getvalue()


def test_an_explained_csv_gains_the_top_sentences_and_their_contributions():
    header, first, second, empty, ragged = rows(explained_single(DATA))
    assert header == ["id", "text", "label", "score", "error", *CSV_COLUMNS]
    assert first[2] == "positive" and first[5] == "It is a wonderful, moving film." and float(first[6]) > 0
    assert first[7:] == ["", ""]  # no sentence pushed it toward negative
    assert second[2] == "negative" and float(second[8]) < 0
    assert second[7] in {"Dull and boring.", "Awful acting."}
    assert empty[4] == "empty text" and empty[5:] == ["", "", "", ""]
    # A ragged row is fitted to the header (its surplus joined into the last column): still rectangular.
    assert ragged[1] == "Great fun!,surplus" and ragged[4].startswith("row has 3 fields")
    assert ragged[5:] == ["", "", "", ""] and {len(row) for row in (header, first, ragged)} == {9}


def test_the_same_rows_score_the_same_explained_or_not():
    plain = io.BytesIO()
    score_csv(io.BytesIO(DATA), plain, FakeModel())
    assert [r[:5] for r in rows(explained_single(DATA))] == [r[:5] for r in rows(plain.getvalue())]


@pytest.mark.parametrize("chunk_rows", [1, 3])
def test_explained_chunks_joined_are_the_single_path_file(chunk_rows):
    layout, chunks = plan_chunks(io.BytesIO(DATA), chunk_rows)
    layout = type(layout)(**{**layout.as_dict(), "explain": True})
    model, parts = FakeModel(), [layout.output_header()]
    for chunk in chunks:
        sink = io.BytesIO()
        explainer = functools.partial(explain, model)
        score_chunk(
            io.BytesIO(DATA[chunk.start : chunk.end]),
            sink,
            model,
            layout,
            chunk.first_row,
            explainer=explainer,
        )
        parts.append(sink.getvalue())
    assert b"".join(parts) == explained_single(DATA)
    with pytest.raises(ValueError, match="explainer"):
        score_chunk(io.BytesIO(DATA[chunks[0].start : chunks[0].end]), io.BytesIO(), model, layout)


@pytest.mark.parametrize(
    "metadata,explained", [({"explain": "true"}, True), ({"explain": "no"}, False), ({}, False)]
)
def test_the_batch_function_explains_a_file_whose_metadata_asks(batch, aws, metadata, explained):
    s3 = boto3.client("s3")
    s3_events(aws)
    s3.put_object(Bucket=aws.bucket, Key="incoming/why.csv", Body=DATA, Metadata=metadata)
    for event in s3_events(aws):
        batch.lambda_handler(event, context("batch"))
    header, *_ = rows(s3.get_object(Bucket=aws.bucket, Key="scored/why.csv")["Body"].read())
    assert header[5:] == (list(CSV_COLUMNS) if explained else [])


@pytest.mark.parametrize(
    "key,explained",
    [
        ("incoming/explain/why.csv", True),
        ("incoming/team/explain/why.csv", True),
        ("incoming/explain.csv", False),
    ],
)
def test_a_file_under_an_explain_folder_is_explained_without_metadata(key, explained):
    assert explain_requested({}, key) is explained
    assert explain_requested({"explain": "TRUE"}, "incoming/why.csv")


def test_a_push_too_small_to_show_in_six_decimals_is_no_top_sentence():
    def sentence(start: int, contribution: float) -> SentenceScore:
        return SentenceScore(start, start + 5, "positive", 0.9, contribution, True)

    prediction = FakeModel().predict(["Great fun!"])[0]
    why = Explanation(prediction, [sentence(0, 0.25), sentence(6, -4e-7), sentence(12, 6e-7)])
    assert why.top(1).start == 0 and why.top(-1) is None
    assert csv_cells("Great fun! Okay. Sure.", why) == ["Great", "0.250000", "", ""]


def test_the_estimate_counts_an_explained_rows_passes():
    plain = estimated_cost(10_000, 13_000_000, 10)
    explained = estimated_cost(10_000, 13_000_000, 10, explained=True)
    transitions = 10 * STATES_PER_CHUNK * PRICE_PER_STATE_TRANSITION
    requests = estimated_cost(1, 1, 10) - transitions  # ten chunks' requests, almost no compute
    compute = plain - transitions - requests
    assert explained - transitions - requests == pytest.approx(EXPLAINED_ROW_PASSES * compute, rel=1e-3)
