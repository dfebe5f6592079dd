"""The committed model artifact is what its manifest says it is."""

from __future__ import annotations

import hashlib
import json

import pytest
from tokenizers import Tokenizer

from sentiment_core import settings
from sentiment_core.preprocess import HEAD_TOKENS, MAX_LENGTH, TAIL_TOKENS

ARTIFACT = settings.current().model_dir
MANIFEST = json.loads((ARTIFACT / "manifest.json").read_text())


@pytest.mark.parametrize("name", sorted(MANIFEST["files"]))
def test_files_match_manifest_sha256(name):
    data = (ARTIFACT / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == MANIFEST["files"][name]["sha256"]
    assert len(data) == MANIFEST["files"][name]["bytes"]


def test_tokenizer_has_the_stated_truncation_and_padding():
    raw = json.loads((ARTIFACT / "tokenizer.json").read_text())
    # Head+tail truncation and dynamic padding are the core's job: the tokenizer must do neither.
    assert raw["truncation"] is None and raw["padding"] is None
    assert MANIFEST["preprocessing"]["tokenizer_truncation"] is None
    assert MANIFEST["preprocessing"]["truncation"] == {
        "strategy": "head+tail",
        "head_tokens": HEAD_TOKENS,
        "tail_tokens": TAIL_TOKENS,
        "max_length": MAX_LENGTH,
    }
    Tokenizer.from_file(str(ARTIFACT / "tokenizer.json"))


def test_manifest_states_the_required_figures():
    evaluation = MANIFEST["evaluation"]
    validation, test = evaluation["validation"], evaluation["test"]
    for split, n in ((validation, 2_500), (test, 25_000)):
        assert {row["n"] for row in split.values()} == {n}
        assert set(split) == {"transformer", "linear", "blend"}
    # The gates of the blend stage, as its manifest records them.
    assert validation["blend"]["accuracy"] > validation["transformer"]["accuracy"]
    assert test["blend"]["accuracy"] >= 0.930
    assert evaluation["served_check"]["validation_label_agreement"] >= 0.999
    assert MANIFEST["files"]["model.onnx"]["bytes"] <= 30_000_000
    assert MANIFEST["labels"] == ["negative", "positive"]
    for key in ("name", "version", "base_model", "data", "training", "quantization", "blend"):
        assert MANIFEST[key]
    assert evaluation["date"] and evaluation["command"]


def test_the_blend_and_its_choices_are_recorded():
    blend = MANIFEST["blend"]
    assert (
        blend["weight"] in blend["validation_accuracy_by_weight"]
        or str(blend["weight"]) in (blend["validation_accuracy_by_weight"])
    )
    assert {"linear_vocabulary.npy", "linear_weights.npy"} <= set(MANIFEST["files"])
    assert blend["linear"]["max_difference_from_scikit_learn_validation"] < 1e-6
    trials = MANIFEST["quantization"]["trials"]
    chosen = next(t for t in trials if t["name"] == MANIFEST["quantization"]["chosen"])
    assert chosen["blend_agreement_with_fp16x9"] >= 0.99
    assert all("ms_per_256_token_review" in t for t in trials)
