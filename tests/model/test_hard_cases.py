"""The hand-written hard cases and their accuracy figure, on the served model and in a written artifact."""

from __future__ import annotations

import json

from model_export import evaluate, settings
from model_export.hard_cases import hard_case_accuracy, load_cases
from sentiment_core import settings as serving
from sentiment_core.model import SentimentModel
from sentiment_core.preprocess import HEAD_TOKENS, TAIL_TOKENS

CATEGORIES = {"negation", "contrast", "expectation", "rating", "sarcasm", "emoji", "html", "verdict_at_end"}


def test_cases_are_labelled_and_cover_every_category():
    cases = load_cases()
    assert 40 <= len(cases) <= 60
    assert {c["category"] for c in cases} == CATEGORIES
    assert all(c["label"] in settings.LABELS and c["text"].strip() for c in cases)
    assert len({c["text"] for c in cases}) == len(cases)


def test_accuracy_figures_agree_with_the_served_predictions():
    model = SentimentModel(serving.current().model_dir, threads=1)
    result = hard_case_accuracy(model)
    cases = load_cases()
    predicted = [p.label for p in model.predict([c["text"] for c in cases])]
    wrong = [c["text"] for c, label in zip(cases, predicted, strict=True) if label != c["label"]]
    assert [m["text"] for m in result["misses"]] == wrong
    assert result["accuracy"] == round(1 - len(wrong) / len(cases), 4)
    assert sum(c["cases"] for c in result["by_category"].values()) == result["cases"] == len(cases)


def test_the_written_transformer_artifact_carries_the_hard_case_figure(tmp_path, monkeypatch):
    served = serving.current().model_dir
    monkeypatch.setattr(settings, "TRANSFORMER_DIR", tmp_path / "artifact")  # what the evaluate stage writes
    manifest = {
        "name": settings.MODEL_NAME,
        "version": "0.0.1",
        "labels": settings.LABELS,
        "preprocessing": {"truncation": {"head_tokens": HEAD_TOKENS, "tail_tokens": TAIL_TOKENS}},
        "evaluation": {},
    }
    evaluate.write_artifact(manifest, served / "model.onnx")
    written = json.loads((tmp_path / "artifact" / "manifest.json").read_text())
    figure = written["evaluation"]["hard_cases"]
    assert figure["cases"] == len(load_cases()) and 0 <= figure["accuracy"] <= 1
    # The figure is of the artifact as written: its files still match their checksums.
    SentimentModel(tmp_path / "artifact", threads=1, verify=True)
