"""Export the fine-tuned model to ONNX and apply onnxruntime's transformer fusions."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from model_export import settings

log = logging.getLogger(__name__)

INPUT_NAMES = ["input_ids", "attention_mask"]
OUTPUT_NAMES = ["logits"]
OPSET = 17


def export_onnx(model: torch.nn.Module, path: Path) -> None:
    """TorchScript-based export with dynamic batch and sequence axes."""
    model.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    example = (torch.ones(2, 16, dtype=torch.long), torch.ones(2, 16, dtype=torch.long))
    axes = {0: "batch", 1: "sequence"}
    torch.onnx.export(
        model,
        example,
        str(path),
        input_names=INPUT_NAMES,
        output_names=OUTPUT_NAMES,
        dynamic_axes={"input_ids": axes, "attention_mask": axes, "logits": {0: "batch"}},
        opset_version=OPSET,
        dynamo=False,
    )


def optimize_onnx(src: Path, dst: Path, num_heads: int, hidden_size: int, num_layers: int) -> dict[str, int]:
    """Fuse attention, LayerNorm and GELU into onnxruntime's contrib ops (CPU kernels exist on arm64 too)."""
    from onnxruntime.transformers import optimizer

    optimized = optimizer.optimize_model(
        str(src), model_type="bert", num_heads=num_heads, hidden_size=hidden_size
    )
    fused = {k: v for k, v in optimized.get_fused_operator_statistics().items() if v}
    log.info("fused operators: %s", fused)
    if fused.get("Attention", 0) != num_layers:
        raise RuntimeError(f"attention fused in {fused.get('Attention', 0)} of {num_layers} layers: {fused}")
    optimized.save_model_to_file(str(dst))
    return fused


def export_fused(model: torch.nn.Module, raw: Path, fused: Path) -> dict[str, int]:
    """Export `model` (loaded with eager attention) to `raw`, and its fused graph to `fused`."""
    export_onnx(model, raw)
    config = model.config
    return optimize_onnx(raw, fused, config.num_attention_heads, config.hidden_size, config.num_hidden_layers)


def session(path: Path, threads: int = 1) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def max_logit_diff(model: torch.nn.Module, onnx_path: Path, batch: int, length: int, vocab: int) -> float:
    """Largest |torch - onnx| logit difference on random ids with a ragged attention mask."""
    gen = torch.Generator().manual_seed(batch * 1000 + length)
    ids = torch.randint(1, vocab, (batch, length), generator=gen)
    mask = torch.ones(batch, length, dtype=torch.long)
    for row in range(1, batch):  # later rows padded, as dynamic padding produces
        mask[row, max(1, length - row * length // (batch + 1)) :] = 0
    with torch.no_grad():
        expected = model(input_ids=ids, attention_mask=mask).logits.numpy()
    got = session(onnx_path).run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
    return float(np.abs(expected - got).max())


def export(force: bool = False) -> Path:
    from transformers import AutoModelForSequenceClassification

    if settings.ONNX_FP32_OPTIMIZED.exists() and not force:
        log.info("export: %s exists, skipping (use --force to redo)", settings.ONNX_FP32_OPTIMIZED)
        return settings.ONNX_FP32_OPTIMIZED
    # Eager attention exports the MatMul/Softmax pattern that onnxruntime fuses into its Attention op;
    # the SDPA export (the default) is left unfused and runs ~1.4x slower at int8.
    model = AutoModelForSequenceClassification.from_pretrained(
        settings.TRAINED_DIR / "best", attn_implementation="eager"
    ).eval()
    fused = export_fused(model, settings.ONNX_FP32, settings.ONNX_FP32_OPTIMIZED)
    config = model.config
    checks = {
        f"{name}_b{b}_l{n}": max_logit_diff(model, path, b, n, config.vocab_size)
        for name, path in [("fp32", settings.ONNX_FP32), ("fp32_optimized", settings.ONNX_FP32_OPTIMIZED)]
        for b, n in [(1, 7), (4, 256), (2, 512)]
    }
    log.info("export: max |torch - onnx| logit diff %s", checks)
    if max(checks.values()) > 1e-3:
        raise RuntimeError(f"ONNX export does not match PyTorch: {checks}")
    settings.REPORT_DIR.mkdir(parents=True, exist_ok=True)
    (settings.REPORT_DIR / "export.json").write_text(
        json.dumps({"opset": OPSET, "fused_operators": fused, "max_abs_logit_diff": checks}, indent=2)
    )
    return settings.ONNX_FP32_OPTIMIZED
