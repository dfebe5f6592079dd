"""The export and quantization code path, on a tiny randomly initialised BERT (no download, no training)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from model_export.export import export_fused, session
from model_export.quantize import quantize_model

HEADS, HIDDEN, VOCAB = 4, 32, 120


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=HEADS,
        intermediate_size=64,
        max_position_embeddings=512,
        num_labels=2,
    )
    config._attn_implementation = "eager"  # as the export stage loads the fine-tuned model
    model = BertForSequenceClassification(config).eval()
    with torch.no_grad():  # give the head real margins, so label agreement is a meaningful check
        model.classifier.weight.normal_(0, 3.0)
    out = tmp_path_factory.mktemp("tiny")
    export_fused(model, out / "fp32.onnx", out / "opt.onnx")
    quantize_model(out / "opt.onnx", out / "int8.onnx", per_channel=True)
    return model, out


def _inputs(batch: int, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(batch * 1000 + length)
    ids = torch.randint(1, VOCAB, (batch, length), generator=gen)
    mask = torch.ones(batch, length, dtype=torch.long)
    for row in range(1, batch):  # ragged rows, as dynamic padding makes them
        mask[row, max(1, length - row * length // (batch + 1)) :] = 0
    return ids, mask


def _run(path, ids, mask) -> np.ndarray:
    return session(path).run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]


@pytest.mark.parametrize("batch,length", [(1, 1), (1, 512), (2, 7), (3, 128), (8, 1), (8, 64), (5, 512)])
@pytest.mark.parametrize("variant", ["fp32.onnx", "opt.onnx"])
def test_onnx_logits_match_pytorch(tiny, variant, batch, length):
    model, out = tiny
    ids, mask = _inputs(batch, length)
    with torch.no_grad():
        expected = model(input_ids=ids, attention_mask=mask).logits.numpy()
    got = _run(out / variant, ids, mask)
    assert got.shape == (batch, 2)
    assert np.abs(expected - got).max() < 1e-4


def test_int8_model_agrees_on_labels(tiny):
    _, out = tiny
    ids, mask = _inputs(8, 96)
    fp32 = _run(out / "opt.onnx", ids, mask)
    int8 = _run(out / "int8.onnx", ids, mask)
    assert int8.shape == fp32.shape
    assert (int8.argmax(1) == fp32.argmax(1)).all()
    assert (out / "int8.onnx").stat().st_size < (out / "opt.onnx").stat().st_size


@pytest.mark.parametrize("batch,length", [(1, 512), (8, 3)])
def test_int8_model_has_dynamic_axes(tiny, batch, length):
    _, out = tiny
    assert _run(out / "int8.onnx", *_inputs(batch, length)).shape == (batch, 2)
