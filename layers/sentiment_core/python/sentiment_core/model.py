"""The inference core: one tokenizer and ONNX session per process, used by every function."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from sentiment_core import settings
from sentiment_core.preprocess import HEAD_TOKENS, TAIL_TOKENS, encode_batch, pad_batch, prepare_tokenizer

log = logging.getLogger(__name__)


class ModelLoadError(RuntimeError):
    """The artifact is missing, corrupt, or was built with other preprocessing."""


@dataclass(frozen=True)
class Prediction:
    label: str
    score: float
    probabilities: dict[str, float]
    truncated: bool
    tokens: int  # word pieces in the review before truncation


@dataclass(frozen=True)
class LoadTimings:
    tokenizer_ms: float
    session_ms: float
    verify_ms: float


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks (the training side uses it for the manifest too)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


class SentimentModel:
    def __init__(self, model_dir: Path, threads: int, batch_size: int, verify: bool = True) -> None:
        manifest_path = model_dir / "manifest.json"
        if not manifest_path.is_file():
            raise ModelLoadError(f"model manifest not found: {manifest_path}")
        self.manifest = json.loads(manifest_path.read_text())
        self._check_preprocessing()

        self.load_started_at = time.time()
        started = time.perf_counter()
        if verify:
            for name, meta in self.manifest["files"].items():
                path = model_dir / name
                if not path.is_file():
                    raise ModelLoadError(f"model file missing: {name}")
                if sha256_file(path) != meta["sha256"]:
                    raise ModelLoadError(f"sha256 of {name} does not match the manifest: corrupt or replaced")
        verified = time.perf_counter()
        self.tokenizer = prepare_tokenizer(Tokenizer.from_file(str(model_dir / "tokenizer.json")))
        tokenized = time.perf_counter()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(
            str(model_dir / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self.load_timings = LoadTimings(
            verify_ms=(verified - started) * 1000,
            tokenizer_ms=(tokenized - verified) * 1000,
            session_ms=(time.perf_counter() - tokenized) * 1000,
        )
        self.load_finished_at = time.time()
        self.threads = threads
        self.batch_size = batch_size
        self.labels: list[str] = self.manifest["labels"]
        self.pad_id = self.tokenizer.token_to_id("[PAD]")

    def _check_preprocessing(self) -> None:
        truncation = self.manifest["preprocessing"]["truncation"]
        if (truncation["head_tokens"], truncation["tail_tokens"]) != (HEAD_TOKENS, TAIL_TOKENS):
            raise ModelLoadError(
                f"model was trained with truncation {truncation}, the code applies "
                f"head {HEAD_TOKENS} + tail {TAIL_TOKENS}"
            )

    @property
    def name(self) -> str:
        return self.manifest["name"]

    @property
    def version(self) -> str:
        return self.manifest["version"]

    @property
    def sha256(self) -> str:
        return self.manifest["files"]["model.onnx"]["sha256"]

    def predict(self, texts: list[str]) -> list[Prediction]:
        """Predictions in input order; texts run in length-sorted, padded mini-batches."""
        if not texts:
            return []
        encoded = encode_batch(self.tokenizer, texts)
        order = np.argsort([len(e.ids) for e in encoded], kind="stable")
        probabilities = np.empty((len(texts), len(self.labels)), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            input_ids, attention_mask = pad_batch([encoded[i] for i in idx], self.pad_id)
            logits = self.session.run(["logits"], {"input_ids": input_ids, "attention_mask": attention_mask})[
                0
            ]
            probabilities[idx] = _softmax(logits)
        predictions = []
        for enc, probs in zip(encoded, probabilities.tolist(), strict=True):
            best = int(np.argmax(probs))
            predictions.append(
                Prediction(
                    label=self.labels[best],
                    score=probs[best],
                    probabilities=dict(zip(self.labels, probs, strict=True)),
                    truncated=enc.truncated,
                    tokens=enc.n_tokens,
                )
            )
        return predictions


@functools.cache
def get_model() -> SentimentModel:
    """The process-wide model, loaded on first use (at init when a handler module calls it at import)."""
    started = time.perf_counter()
    model = SentimentModel(
        settings.model_dir(),
        settings.inference_threads(),
        settings.batch_size(),
        verify=settings.verify_model_checksums(),
    )
    log.info(
        "model loaded",
        extra={
            "model_version": model.version,
            "load_ms": round((time.perf_counter() - started) * 1000, 1),
            "threads": model.threads,
        },
    )
    return model
