"""End to end: HTTP requests against the local run, as a user's client sends them."""

from __future__ import annotations

import csv
import gzip
import os
from pathlib import Path

import pytest
import requests

TEST_CSV = Path(os.environ.get("IMDB_DATA_DIR", Path(__file__).resolve().parents[3] / "shared/data/imdb")) / (
    "test.csv.gz"
)


def test_health(local_run):
    response = requests.get(f"{local_run.url}/health", timeout=10)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_predict_one(local_run):
    response = requests.post(f"{local_run.url}/predict", json={"text": "The movie was amazing!"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["predictions"][0]["label"] == "positive"


@pytest.mark.skipif(not TEST_CSV.exists(), reason="IMDB test split not available")
def test_predict_64_imdb_reviews_in_input_order(local_run):
    with gzip.open(TEST_CSV, "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))[::390][:64]  # spread over the file: both labels
    texts = [r["text"] for r in rows]
    response = requests.post(f"{local_run.url}/predict", json={"texts": texts}, timeout=60)
    assert response.status_code == 200
    predictions = response.json()["predictions"]
    assert len(predictions) == 64
    reversed_response = requests.post(f"{local_run.url}/predict", json={"texts": texts[::-1]}, timeout=60)
    # Same reviews, reversed: each answer comes back at its review's position. Dynamic int8 scales
    # activations per mini-batch, so a borderline probability can move with other batch-mates.
    again = reversed_response.json()["predictions"][::-1]
    for first, second in zip(predictions, again, strict=True):
        assert abs(first["probabilities"]["positive"] - second["probabilities"]["positive"]) < 0.2
    expected = ["positive" if r["label"] == "1" else "negative" for r in rows]
    assert {"positive", "negative"} == set(expected)
    correct = sum(p["label"] == e for p, e in zip(predictions, expected, strict=True))
    assert correct >= 52  # the model is ~92% accurate: misaligned answers would score ~50%


@pytest.mark.parametrize(
    "body,headers,status",
    [
        ('{"text": ', {"content-type": "application/json"}, 400),
        ('{"texts": []}', {"content-type": "application/json"}, 422),
        ('{"text": "fine"}', {"content-type": "text/plain"}, 415),
    ],
)
def test_errors_are_json(local_run, body, headers, status):
    response = requests.post(f"{local_run.url}/predict", data=body, headers=headers, timeout=10)
    assert response.status_code == status
    assert response.json()["error"]


def test_unknown_path_is_404(local_run):
    response = requests.get(f"{local_run.url}/nope", timeout=10)
    assert response.status_code == 404 and response.json()["error"]
