"""The shared inference core on the committed model artifact."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sentiment_core import settings
from sentiment_core.model import ModelLoadError, SentimentModel, get_model, mini_batches
from sentiment_core.preprocess import MAX_LENGTH, encode_batch

POSITIVE = "One of the best films I have ever seen. Wonderful acting, a beautiful story, I loved it."
NEGATIVE = "The worst movie of the year. Boring, badly acted and far too long. A complete waste of time."


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return get_model()


def test_obvious_reviews_get_obvious_labels(model):
    predictions = model.predict([POSITIVE, NEGATIVE])
    assert [p.label for p in predictions] == ["positive", "negative"]
    assert all(p.score > 0.9 for p in predictions)


def test_batching_keeps_input_order(model):
    texts = [POSITIVE, NEGATIVE] * 10 + ["word " * n + "great" for n in (3, 300, 40, 900)]
    one_by_one = [model.predict([t])[0] for t in texts]
    batched = model.predict(texts)
    lengths = [len(e.ids) for e in encode_batch(model.tokenizer, texts)]
    assert len(mini_batches(lengths, model.batch_size, model.batch_tokens)) > 1  # several runs
    assert [p.label for p in batched] == [p.label for p in one_by_one]
    assert [p.tokens for p in batched] == [p.tokens for p in one_by_one]
    # Dynamic int8 scales activations per batch, so batch-mates move a score by ~0.01, never a label here.
    np.testing.assert_allclose([p.score for p in batched], [p.score for p in one_by_one], atol=0.05)


def test_probabilities_sum_to_one_and_score_is_the_label_probability(model):
    for p in model.predict([POSITIVE, NEGATIVE, "ok"]):
        assert sum(p.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
        assert p.score == p.probabilities[p.label] == max(p.probabilities.values())


def test_truncated_flag(model):
    short, long = model.predict(["Fine.", "great " * (MAX_LENGTH + 10)])
    assert not short.truncated and long.truncated
    assert long.tokens == MAX_LENGTH + 10


def test_empty_input_gives_no_predictions(model):
    assert model.predict([]) == []


def test_missing_artifact_fails_clearly(tmp_path):
    with pytest.raises(ModelLoadError, match=r"no manifest\.json"):
        SentimentModel(tmp_path, threads=1, batch_size=4)


def test_corrupt_artifact_fails_clearly(tmp_path):
    source = settings.current().model_dir
    for name in ("manifest.json", "tokenizer.json", "model.onnx"):
        (tmp_path / name).write_bytes((source / name).read_bytes())
    with open(tmp_path / "model.onnx", "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02")
    with pytest.raises(ModelLoadError, match=r"model\.onnx does not match its sha256"):
        SentimentModel(tmp_path, threads=1, batch_size=4)


def test_artifact_built_with_other_truncation_is_refused(tmp_path):
    source = settings.current().model_dir
    manifest = json.loads((source / "manifest.json").read_text())
    manifest["preprocessing"]["truncation"]["tail_tokens"] = 0
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelLoadError, match="truncation"):
        SentimentModel(tmp_path, threads=1, batch_size=4, verify=False)


def test_mini_batches_keep_padded_tokens_within_budget_and_cover_every_text():
    lengths = [10, 300, 20, 5, 256, 40, 12, 12, 64]
    groups = mini_batches(lengths, max_rows=3, max_tokens=100)
    assert sorted(i for g in groups for i in g.tolist()) == list(range(len(lengths)))
    for group in groups:
        padded = len(group) * max(lengths[i] for i in group)
        assert len(group) == 1 or (padded <= 100 and len(group) <= 3)
    assert [lengths[g[0]] for g in groups] == sorted(lengths[g[0]] for g in groups)  # shortest first
    assert [len(g) for g in groups if lengths[g[0]] >= 256] == [1, 1]  # long texts run alone
