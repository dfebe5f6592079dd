"""Evaluate on all 25,000 test reviews and write the artifact the service loads.

In one run: fp32 and int8 ONNX accuracy/F1 and their label agreement, a
TF-IDF + logistic regression baseline trained on the same train split, the
truncation study (on validation), and batch-1 single-thread latency of
PyTorch vs ONNX fp32 vs ONNX int8 on the same reviews.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from model_export import settings
from model_export.data import Review, load_reviews, train_validation_split
from model_export.export import INPUT_NAMES, OUTPUT_NAMES, session
from model_export.hard_cases import hard_case_accuracy
from model_export.modeling import load_base_tokenizer
from model_export.quantize import logits
from sentiment_core.manifest import sha256_file
from sentiment_core.manifest import write as write_manifest
from sentiment_core.model import SentimentModel
from sentiment_core.preprocess import (
    HEAD_TOKENS,
    MAX_LENGTH,
    TAIL_TOKENS,
    clean_text,
    encode_batch,
    pad_batch,
)

log = logging.getLogger(__name__)

LATENCY_REVIEWS = 200
TRUNCATION_VARIANTS = {  # name: (head, tail) word pieces
    "head_only_128": (126, 0),
    "head_only_256": (254, 0),
    "head_tail_256": (HEAD_TOKENS, TAIL_TOKENS),
    "head_tail_512": (256, 254),
}


def classification_metrics(predicted: np.ndarray, labels: np.ndarray) -> dict:
    tp = int(((predicted == 1) & (labels == 1)).sum())
    fp = int(((predicted == 1) & (labels == 0)).sum())
    fn = int(((predicted == 0) & (labels == 1)).sum())
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    return {
        "accuracy": round(float((predicted == labels).mean()), 5),
        "f1": round(2 * precision * recall / max(precision + recall, 1e-12), 5),
        "n": len(labels),
    }


def cached_logits(name: str, model_path: Path, encoded) -> np.ndarray:
    """Test-set logits, cached per model file (by sha256), so an interrupted evaluation resumes where it
    stopped and a forced one recomputes only what depends on something else."""
    cache = settings.WORK_DIR / "eval" / f"{name}-alone-{sha256_file(model_path)[:16]}.npy"
    if cache.exists():
        return np.load(cache)
    cache.parent.mkdir(parents=True, exist_ok=True)
    out = logits(model_path, encoded, progress=f"test {name}")
    np.save(cache, out)
    return out


def confidence_study(logits: np.ndarray, labels: np.ndarray) -> dict:
    """How often predictions under a confidence threshold are right: grounds the low-confidence metric."""
    shifted = np.exp(logits - logits.max(1, keepdims=True))
    score = (shifted / shifted.sum(1, keepdims=True)).max(1)
    correct = logits.argmax(1) == labels
    return {
        str(t): {
            "share_below": round(float((score < t).mean()), 4),
            "accuracy_below": round(float(correct[score < t].mean()), 4) if (score < t).any() else None,
            "accuracy_at_or_above": round(float(correct[score >= t].mean()), 4),
        }
        for t in (0.6, 0.7, 0.8, 0.9)
    }


def tfidf_baseline(train: list[Review], test: list[Review]) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    x_train = vectorizer.fit_transform([clean_text(r.text) for r in train])
    classifier = LogisticRegression(C=4.0, max_iter=2000).fit(x_train, [r.label for r in train])
    predicted = classifier.predict(vectorizer.transform([clean_text(r.text) for r in test]))
    result = classification_metrics(np.asarray(predicted), np.array([r.label for r in test]))
    return {"model": "TF-IDF word 1-2 grams (sublinear tf, min_df 2) + logistic regression (C=4)", **result}


def truncation_study(model_path: Path, validation: list[Review]) -> dict:
    tokenizer = load_base_tokenizer()
    labels = np.array([r.label for r in validation])
    texts = [r.text for r in validation]
    study = {}
    for name, (head, tail) in TRUNCATION_VARIANTS.items():
        encoded = encode_batch(tokenizer, texts, head=head, tail=tail)
        study[name] = classification_metrics(
            logits(model_path, encoded, progress=f"val {name}").argmax(1), labels
        )
        log.info("truncation %s: %s", name, study[name])
    return {"split": "validation (held out of train)", "model": "fp32 ONNX", "results": study}


def _onnx_runner(path: Path) -> Callable[[dict], object]:
    sess = session(path, threads=1)
    return lambda feed: sess.run(OUTPUT_NAMES, feed)


def latency(reviews: list[Review], paths: dict[str, Path]) -> dict:
    """Median ms per review at batch 1 and 1 thread, same reviews for every runtime.

    Runtimes take turns review by review, so a noisy neighbour slows them alike.
    """
    import torch
    from transformers import AutoModelForSequenceClassification

    encoded = encode_batch(load_base_tokenizer(), [r.text for r in reviews])
    feeds = [dict(zip(INPUT_NAMES, pad_batch([e]), strict=True)) for e in encoded]
    torch.set_num_threads(1)
    model = AutoModelForSequenceClassification.from_pretrained(settings.TRAINED_DIR / "best").eval()

    def pytorch(feed: dict) -> None:
        with torch.inference_mode():
            model(**{k: torch.from_numpy(v) for k, v in feed.items()})

    runners = {"pytorch_fp32": pytorch} | {name: _onnx_runner(path) for name, path in paths.items()}
    results: dict[str, list[float]] = {name: [] for name in runners}
    for run in runners.values():
        run(feeds[0])
    for feed in feeds:
        for name, run in runners.items():
            start = time.perf_counter()
            run(feed)
            results[name].append(time.perf_counter() - start)
    summary = {
        name: {
            "p50_ms": round(statistics.median(t) * 1000, 2),
            "mean_ms": round(statistics.fmean(t) * 1000, 2),
        }
        for name, t in results.items()
    }
    base = summary["onnx_int8"]["p50_ms"]
    for entry in summary.values():
        entry["x_int8"] = round(entry["p50_ms"] / base, 2)
    return {
        "reviews": len(reviews),
        "batch": 1,
        "threads": 1,
        "mean_tokens": round(statistics.fmean(len(e.ids) for e in encoded), 1),
        "results": summary,
    }


def write_artifact(manifest: dict, int8_path: Path) -> None:
    """The transformer alone, as the blend stage builds on it (settings.TRANSFORMER_DIR)."""
    out = settings.TRANSFORMER_DIR
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(int8_path, out / "model.onnx")
    load_base_tokenizer().save(str(out / "tokenizer.json"))
    write_manifest(out, manifest, ["model.onnx", "tokenizer.json"])
    # Through the serving core, so the figure is the served model's; it loads the manifest just written.
    manifest["evaluation"]["hard_cases"] = hard_case_accuracy(SentimentModel(out, threads=1))
    write_manifest(out, manifest, ["model.onnx", "tokenizer.json"])
    log.info("artifact written to %s; hard cases %s", out, manifest["evaluation"]["hard_cases"]["accuracy"])


def evaluate(force: bool = False) -> Path:
    manifest_path = settings.TRANSFORMER_DIR / "manifest.json"
    report_path = settings.REPORT_DIR / "evaluate.json"
    int8_path = settings.QUANT_DIR / "chosen.onnx"
    fp32_path = settings.ONNX_FP32_OPTIMIZED
    int8_sha256 = sha256_file(int8_path)
    if (
        not force
        and report_path.exists()
        and json.loads(report_path.read_text()).get("int8_sha256") == int8_sha256
    ):
        log.info("evaluate: %s is up to date, skipping (use --force to redo)", report_path)
        return manifest_path

    train, validation = train_validation_split(load_reviews(settings.TRAIN_CSV))
    test = load_reviews(settings.TEST_CSV)
    labels = np.array([r.label for r in test])
    encoded = encode_batch(load_base_tokenizer(), [r.text for r in test])

    fp32_pred = cached_logits("fp32", fp32_path, encoded).argmax(1)
    int8_logits = cached_logits("int8", int8_path, encoded)
    int8_pred = int8_logits.argmax(1)
    fp32, int8 = classification_metrics(fp32_pred, labels), classification_metrics(int8_pred, labels)
    baseline = tfidf_baseline(train, test)
    evaluation = {
        "test_set": f"all {len(test)} reviews of test.csv.gz",
        "int8_sha256": int8_sha256,
        "onnx_fp32": fp32,
        "onnx_int8": int8,
        "int8_vs_fp32_label_agreement": round(float((fp32_pred == int8_pred).mean()), 5),
        "int8_accuracy_drop_points": round((fp32["accuracy"] - int8["accuracy"]) * 100, 3),
        "baseline": baseline,
        "int8_minus_baseline_accuracy_points": round((int8["accuracy"] - baseline["accuracy"]) * 100, 3),
        "confidence": confidence_study(int8_logits, labels),
        "model_bytes": {"onnx_fp32": fp32_path.stat().st_size, "onnx_int8": int8_path.stat().st_size},
        "truncation_study": truncation_study(fp32_path, validation),
        "latency": latency(
            test[:: len(test) // LATENCY_REVIEWS][:LATENCY_REVIEWS],
            # Unfused vs fused fp32 shows what onnxruntime's transformer optimizer buys.
            {"onnx_fp32_unfused": settings.ONNX_FP32, "onnx_fp32": fp32_path, "onnx_int8": int8_path},
        ),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "make model  (python -m model_export " + " ".join(sys.argv[1:]) + ")",
    }
    log.info("evaluation: %s", json.dumps(evaluation, indent=2))
    settings.REPORT_DIR.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(evaluation, indent=2))

    reports = {
        name: json.loads((settings.REPORT_DIR / f"{name}.json").read_text())
        for name in ("export", "quantize")
    }
    manifest = {
        "name": settings.MODEL_NAME,
        "version": settings.TRANSFORMER_VERSION,
        "base_model": settings.BASE_MODEL,
        "labels": settings.LABELS,
        "inputs": INPUT_NAMES,
        "outputs": OUTPUT_NAMES,
        "preprocessing": {
            "module": "sentiment_core.preprocess",
            "clean": "HTML <br> tags to spaces, whitespace runs collapsed, trimmed",
            "truncation": {
                "strategy": "head+tail",
                "head_tokens": HEAD_TOKENS,
                "tail_tokens": TAIL_TOKENS,
                "max_length": MAX_LENGTH,
            },
            "padding": "none: each text runs alone (batch of 1), so its score depends on nothing else",
            "tokenizer_truncation": None,
            "tokenizer_padding": None,
        },
        "data": {
            "train_csv_sha256": sha256_file(settings.TRAIN_CSV),
            "test_csv_sha256": sha256_file(settings.TEST_CSV),
        },
        "pretraining": json.loads((settings.PRETRAINED_DIR / "pretrain_report.json").read_text()),
        "training": json.loads((settings.TRAINED_DIR / "train_report.json").read_text()),
        "export": reports["export"],
        "quantization": {
            "method": "onnxruntime quantize_dynamic, QInt8 weights, uint8 activations",
            "chosen": reports["quantize"]["chosen"],
            "trials": [{k: v for k, v in t.items() if k != "path"} for t in reports["quantize"]["trials"]],
        },
        "evaluation": evaluation,
    }
    write_artifact(manifest, int8_path)
    return manifest_path
