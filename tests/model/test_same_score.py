"""Same text, same score: a review's probabilities on the real model, whatever path and company it comes in.

The reference is each text scored alone on one thread; every other path must give the same
probabilities within 1e-6 (the responses round to 6 decimals). The texts mix lengths, from "1/10"
to reviews cut at 256 word pieces, so padding and batch-mates would show if they mattered.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from model_export.hard_cases import load_cases
from sentiment_cli import cli
from sentiment_core import csv_scoring, settings
from sentiment_core.model import Prediction, SentimentModel
from tests.helpers import api_request, receive, run_worker

TOLERANCE = 1e-6


def _texts() -> list[str]:
    short = [c["text"] for c in load_cases()]
    # Long reviews from the same sentences: several past the 254-word-piece cut.
    long = [" ".join(short[i : i + n]) for i, n in zip(range(0, 48, 4), (6, 12, 20, 30) * 3, strict=False)]
    return (short + long)[:64]


TEXTS = _texts()


@pytest.fixture(scope="module")
def reference() -> list[Prediction]:
    model = SentimentModel(settings.current().model_dir, threads=1)
    return [model.predict([t])[0] for t in TEXTS]


def assert_same(reference: list[Prediction], positive: list[float]) -> None:
    assert len(positive) == len(reference)
    worst = max(abs(p - r.probabilities["positive"]) for p, r in zip(positive, reference, strict=True))
    assert worst <= TOLERANCE, f"a text's positive probability moved by {worst:.2e} on this path"


def test_the_texts_cover_short_and_truncated_reviews(reference):
    model = SentimentModel(settings.current().model_dir, threads=1)
    tokens = [p.tokens for p in model.predict(TEXTS)]
    assert len(TEXTS) == 64 and min(tokens) < 8 and max(tokens) > 254


@pytest.mark.parametrize("threads", [1, 2])
def test_core_64_at_once_on_1_and_2_threads(reference, threads):
    model = SentimentModel(settings.current().model_dir, threads=threads)
    assert_same(reference, [p.probabilities["positive"] for p in model.predict(TEXTS)])


def test_api_one_and_64(api, reference):
    status, body = api_request(api, "POST", "/predict", {"texts": TEXTS})
    assert status == 200
    assert_same(reference, [p["probabilities"]["positive"] for p in body["predictions"]])
    alone = []
    for text in TEXTS:
        status, body = api_request(api, "POST", "/predict", {"text": text})
        assert status == 200
        alone.append(body["predictions"][0]["probabilities"]["positive"])
    assert_same(reference, alone)


def test_job(api, worker, aws, reference):
    status, body = api_request(api, "POST", "/jobs", {"texts": TEXTS})
    assert status == 202
    job_id = body["job_id"]
    messages = [m for m in receive(aws.jobs_queue_url) if json.loads(m["Body"])["job_id"] == job_id]
    assert run_worker(worker, aws.jobs_queue_url, messages) == set()
    status, body = api_request(api, "GET", f"/jobs/{job_id}")
    assert status == 200 and body["status"] == "done"
    assert_same(reference, [p["probabilities"]["positive"] for p in body["predictions"]])


def _csv_bytes() -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["id", "text"])
    writer.writerows(enumerate(TEXTS))
    return buffer.getvalue().encode()


@pytest.mark.parametrize("chunk_rows", [7, 512])
def test_csv_at_two_chunk_sizes(reference, monkeypatch, chunk_rows):
    monkeypatch.setattr(csv_scoring, "CHUNK_ROWS", chunk_rows)
    sink = io.BytesIO()
    model = SentimentModel(settings.current().model_dir, threads=2)
    summary = csv_scoring.score_csv(io.BytesIO(_csv_bytes()), sink, model)
    assert summary.rows == len(TEXTS) and summary.rows_with_errors == 0
    rows = list(csv.DictReader(io.StringIO(sink.getvalue().decode())))
    # A scored CSV carries the label and its probability.
    assert [r["label"] for r in rows] == [p.label for p in reference]
    worst = max(abs(float(r["score"]) - p.score) for r, p in zip(rows, reference, strict=True))
    assert worst <= TOLERANCE, f"a text's score moved by {worst:.2e} in the CSV"


@pytest.mark.parametrize("threads", ["1", "2"])
def test_cli(reference, capsys, threads):
    assert cli.main(["--threads", threads, "--no-progress", *TEXTS]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert_same(reference, [line["probabilities"]["positive"] for line in lines])
