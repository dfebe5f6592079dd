"""Dynamic int8 quantization, with the settings chosen by measurement on the validation split.

Candidates: default per-tensor vs per-channel weights. If the best candidate
still disagrees with fp32 too often, the nodes whose quantization hurts the
logits most (measured one by one) stay unquantized, fewest first, within the
size budget. Their weights are stored as fp16 (half the bytes of fp32) and cast
back to fp32 once, when onnxruntime constant-folds the graph at session start,
so they compute in fp32.
"""

from __future__ import annotations

import functools
import json
import logging
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic
from tqdm import tqdm

from model_export import settings
from model_export.data import load_reviews, train_validation_split
from model_export.modeling import load_base_tokenizer
from sentiment_core.manifest import sha256_file
from sentiment_core.model import logits_alone, session_options
from sentiment_core.preprocess import Encoded, encode_batch

log = logging.getLogger(__name__)

TARGET_AGREEMENT = 0.997  # on validation: margin over the 99.5% required on test
MAX_SIZE_BYTES = 30_000_000
SENSITIVITY_SAMPLE = 300
MAX_EXCLUDED = 12


def quantize_model(src: Path, dst: Path, per_channel: bool, exclude: list[str] | None = None) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    exclude = exclude or []
    quantize_dynamic(
        src,
        dst,
        per_channel=per_channel,
        weight_type=QuantType.QInt8,
        nodes_to_exclude=exclude,
        # ONNX shape inference does not know the fused contrib ops (BiasGelu, ...): their outputs are fp32.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    if exclude:
        store_weights_fp16(dst, exclude)
    return dst


def store_weights_fp16(path: Path, nodes: list[str]) -> None:
    """Store the weight matrices of `nodes` as fp16 behind a Cast to fp32."""
    model = onnx.load(str(path))
    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    casts = []
    for node in graph.node:
        if node.name not in nodes:
            continue
        for name in node.input:
            init = initializers.get(name)
            if init is None or init.data_type != onnx.TensorProto.FLOAT or len(init.dims) < 2:
                continue  # biases are small: fp16 would save little and cost precision
            half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), f"{name}_fp16")
            graph.initializer.remove(init)
            graph.initializer.append(half)
            casts.append(
                helper.make_node("Cast", [half.name], [name], to=onnx.TensorProto.FLOAT, name=f"{name}_cast")
            )
    for cast in reversed(casts):  # before every consumer: keeps the graph topologically sorted
        graph.node.insert(0, cast)
    onnx.save(model, str(path))


def logits(
    model_path: Path,
    encoded: list[Encoded],
    threads: int = 2,
    progress: str | None = None,
) -> np.ndarray:
    """Logits in input order, each text run alone as the service runs it (`logits_alone`),
    `threads` texts at a time: what is measured here is what is served."""
    sess = ort.InferenceSession(str(model_path), session_options(), providers=["CPUExecutionProvider"])
    with ThreadPoolExecutor(threads) as pool:
        rows = pool.map(functools.partial(logits_alone, sess), encoded)
        return np.stack(
            list(tqdm(rows, total=len(encoded), desc=progress, unit="text") if progress else rows)
        )


def quantizable_nodes(model_path: Path) -> list[str]:
    graph = onnx.load(str(model_path), load_external_data=False).graph
    weights = {init.name for init in graph.initializer}
    return [
        n.name
        for n in graph.node
        if n.op_type in ("MatMul", "Attention") and any(i in weights for i in n.input)
    ]


def sensitivity(
    src: Path, encoded: list[Encoded], reference: np.ndarray, per_channel: bool, progress
) -> dict:
    """Mean |logit change| from quantizing each node alone; cached, since it is the slow part."""
    cache = settings.QUANT_DIR / f"sensitivity-{'per_channel' if per_channel else 'per_tensor'}.json"
    source = sha256_file(src)
    cached = json.loads(cache.read_text()) if cache.exists() else {}
    if cached.get("source_sha256") == source:
        return cached["error"]
    nodes = quantizable_nodes(src)
    probe = settings.QUANT_DIR / "probe.onnx"
    error = {}
    for node in progress(nodes, desc="node sensitivity"):
        quantize_model(src, probe, per_channel, [n for n in nodes if n != node])
        error[node] = float(np.abs(logits(probe, encoded) - reference).mean())
    probe.unlink()
    cache.write_text(json.dumps({"source_sha256": source, "error": error}, indent=2))
    return error


def search(src: Path, encoded: list[Encoded], progress: Callable = tqdm) -> dict:
    """Pick quantization settings on validation data; the report names the winner."""
    reference = logits(src, encoded)
    ref_labels = reference.argmax(1)
    trials = []

    def trial(name: str, per_channel: bool, exclude: list[str]) -> dict:
        path = quantize_model(src, settings.QUANT_DIR / f"{name}.onnx", per_channel, exclude)
        labels = logits(path, encoded).argmax(1)
        result = {
            "name": name,
            "per_channel": per_channel,
            "excluded_nodes": exclude,
            "agreement": float((labels == ref_labels).mean()),
            "bytes": path.stat().st_size,
            "path": str(path),
        }
        log.info(
            "quantize %-22s agreement %.4f size %.1f MB", name, result["agreement"], result["bytes"] / 1e6
        )
        trials.append(result)
        return result

    best = max((trial("per_tensor", False, []), trial("per_channel", True, [])), key=lambda t: t["agreement"])
    if best["agreement"] < TARGET_AGREEMENT:
        error = sensitivity(
            src,
            encoded[:SENSITIVITY_SAMPLE],
            reference[:SENSITIVITY_SAMPLE],
            best["per_channel"],
            progress,
        )
        ranked = sorted(error, key=error.get, reverse=True)
        log.info("most sensitive nodes: %s", [(n, round(error[n], 4)) for n in ranked[:MAX_EXCLUDED]])
        for k in range(1, MAX_EXCLUDED + 1):
            candidate = trial(
                f"{'per_channel' if best['per_channel'] else 'per_tensor'}_fp16x{k}",
                best["per_channel"],
                ranked[:k],
            )
            if candidate["bytes"] > MAX_SIZE_BYTES:
                break
            if candidate["agreement"] > best["agreement"]:
                best = candidate
            if candidate["agreement"] >= TARGET_AGREEMENT:
                break
    return {"chosen": best["name"], "target_validation_agreement": TARGET_AGREEMENT, "trials": trials}


def quantize(force: bool = False) -> Path:
    report_path = settings.REPORT_DIR / "quantize.json"
    chosen_path = settings.QUANT_DIR / "chosen.onnx"
    if report_path.exists() and chosen_path.exists() and not force:
        log.info("quantize: %s exists, skipping (use --force to redo)", chosen_path)
        return chosen_path
    tokenizer = load_base_tokenizer()
    _, validation = train_validation_split(load_reviews(settings.TRAIN_CSV))
    encoded = encode_batch(tokenizer, [r.text for r in validation])
    report = search(settings.ONNX_FP32_OPTIMIZED, encoded)
    chosen = next(t for t in report["trials"] if t["name"] == report["chosen"])
    shutil.copyfile(chosen["path"], chosen_path)
    settings.REPORT_DIR.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(report, indent=2))
    return chosen_path
