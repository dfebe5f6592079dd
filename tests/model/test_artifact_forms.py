"""Both artifact forms load and go through the registry: 1.1.0 (the transformer alone) and 1.2.0 (the
blend with its linear model's files)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from model_export import settings as pipeline_settings
from model_registry.registry import Registry
from sentiment_core import settings
from sentiment_core.model import ModelLoadError, SentimentModel, logits_alone
from sentiment_core.preprocess import encode_batch
from tests.helpers import versioned_bucket
from tests.model.test_model_faults import copy_artifact

SERVED = settings.current().model_dir
TRANSFORMER = pipeline_settings.TRANSFORMER_DIR
REVIEWS = ["A wonderful, moving film.", "Dull, long and badly acted. I want my two hours back."]


@pytest.mark.parametrize(
    ("model_dir", "version", "blended"), [(TRANSFORMER, "1.1.0", False), (SERVED, "1.2.0", True)]
)
def test_each_form_loads_and_names_its_version(model_dir, version, blended):
    model = SentimentModel(model_dir, threads=1)
    assert model.version == version
    assert (model.blend is not None) is blended
    positive, negative = model.predict(REVIEWS)
    assert (positive.label, negative.label) == ("positive", "negative")
    assert abs(sum(positive.probabilities.values()) - 1) < 1e-6  # the transformer's softmax is float32


def test_the_blend_is_the_transformer_plus_the_weighted_linear_log_odds():
    blended = SentimentModel(SERVED, threads=1)
    (prediction,) = blended.predict([REVIEWS[0]])
    blend = json.loads((SERVED / "manifest.json").read_text())["blend"]
    (encoded,) = encode_batch(blended.tokenizer, [REVIEWS[0]])
    logits = logits_alone(blended.session, encoded)
    log_odds = (
        logits[1]
        - logits[0]
        + blend["weight"] * blended.blend.linear.decision(encoded.pieces)
        + blend["bias"]
    )
    assert prediction.probabilities["positive"] == pytest.approx(1 / (1 + np.exp(-log_odds)), abs=1e-12)


@pytest.mark.parametrize("name", ["linear_vocabulary.npy", "linear_weights.npy"])
def test_a_linear_file_that_does_not_match_its_sha256_is_refused(tmp_path, name):
    artifact = copy_artifact(tmp_path)
    data = bytearray((artifact / name).read_bytes())
    data[-1] ^= 0xFF  # same size, other content
    (artifact / name).write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match=f"{name} does not match its sha256"):
        SentimentModel(artifact, threads=1)


def test_the_registry_publishes_fetches_and_approves_both_forms(aws, tmp_path):
    registry = Registry(versioned_bucket("registry"))
    for model_dir in (TRANSFORMER, SERVED):
        entry = registry.publish(model_dir)
        registry.approve(entry.name, entry.version)
        fetched = registry.fetch(entry.name, entry.version, tmp_path / entry.version)
        assert fetched.files == entry.files
        assert SentimentModel(tmp_path / entry.version, threads=1).version == entry.version
