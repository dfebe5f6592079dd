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
    assert evaluation["onnx_int8"]["n"] == 25_000
    assert evaluation["onnx_int8"]["accuracy"] >= 0.91
    assert evaluation["onnx_int8"]["accuracy"] > evaluation["baseline"]["accuracy"]
    assert evaluation["int8_accuracy_drop_points"] <= 0.3
    assert evaluation["int8_vs_fp32_label_agreement"] >= 0.995
    assert MANIFEST["files"]["model.onnx"]["bytes"] <= 30_000_000
    assert MANIFEST["labels"] == ["negative", "positive"]
    for key in ("name", "version", "base_model", "data", "training", "quantization"):
        assert MANIFEST[key]
    assert evaluation["date"] and evaluation["command"]
