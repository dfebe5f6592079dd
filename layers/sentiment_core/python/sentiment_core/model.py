"""The inference core: one tokenizer and ONNX session per process, used by every function."""

from __future__ import annotations

import functools
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from sentiment_core import manifest
from sentiment_core.preprocess import HEAD_TOKENS, TAIL_TOKENS, encode_batch, pad_batch, prepare_tokenizer
from sentiment_core.settings import DEFAULT_BATCH_TOKENS, Settings, current

log = logging.getLogger(__name__)

SELF_CHECK_TEXT = "A good film."


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


def mini_batches(lengths: list[int], max_rows: int, max_tokens: int) -> list[np.ndarray]:
    """Indices grouped shortest first, each group padded to at most `max_tokens` (rows x longest).

    A budget in tokens, not rows: long reviews run alone, where batching them only adds cache
    pressure, while short texts share a run and its fixed cost.
    """
    groups: list[list[int]] = []
    for i in np.argsort(lengths, kind="stable").tolist():
        if not groups or len(groups[-1]) == max_rows or (len(groups[-1]) + 1) * lengths[i] > max_tokens:
            groups.append([])
        groups[-1].append(i)
    return [np.array(g) for g in groups]


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


class SentimentModel:
    def __init__(
        self,
        model_dir: Path,
        threads: int,
        batch_size: int,
        verify: bool = True,
        batch_tokens: int = DEFAULT_BATCH_TOKENS,
    ) -> None:
        self.load_started_at = time.time()
        started = time.perf_counter()
        try:  # with verify off (only to measure its cost) a bad file must still fail clearly, below
            self.artifact = manifest.load(model_dir) if verify else manifest.read(model_dir)
            self.manifest = self.artifact.manifest
            self._check_preprocessing()
            self.sha256 = self.artifact.files["model.onnx"]  # the served graph's identity in /health, metrics
        except (manifest.ArtifactError, KeyError, TypeError) as error:
            raise ModelLoadError(f"model artifact unusable: {error}") from None
        self.name, self.version = self.artifact.name, self.artifact.version
        self.manifest_sha256 = self.artifact.manifest_sha256
        self.registry = manifest.read_provenance(self.artifact)
        verified = time.perf_counter()
        try:
            self.tokenizer = prepare_tokenizer(Tokenizer.from_file(str(model_dir / "tokenizer.json")))
        except Exception as error:
            raise ModelLoadError(f"tokenizer.json could not be loaded: {error}") from None
        tokenized = time.perf_counter()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        try:
            self.session = ort.InferenceSession(
                str(model_dir / "model.onnx"), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:
            raise ModelLoadError(f"model.onnx could not be loaded: {error}") from None
        self.load_timings = LoadTimings(
            verify_ms=(verified - started) * 1000,
            tokenizer_ms=(tokenized - verified) * 1000,
            session_ms=(time.perf_counter() - tokenized) * 1000,
        )
        self.load_finished_at = time.time()
        self.threads = threads
        self.batch_size = batch_size
        self.batch_tokens = batch_tokens
        self.labels: list[str] = self.manifest["labels"]
        self.pad_id = self.tokenizer.token_to_id("[PAD]")

    def _check_preprocessing(self) -> None:
        truncation = self.manifest["preprocessing"]["truncation"]
        if (truncation["head_tokens"], truncation["tail_tokens"]) != (HEAD_TOKENS, TAIL_TOKENS):
            raise ModelLoadError(
                f"model was trained with truncation {truncation}, the code applies "
                f"head {HEAD_TOKENS} + tail {TAIL_TOKENS}"
            )

    def self_check(self) -> bool:
        """One tiny prediction: True when the session answers with finite probabilities that sum to 1."""
        try:
            (prediction,) = self.predict([SELF_CHECK_TEXT])
        except Exception:
            log.exception("model self-check failed")
            return False
        values = list(prediction.probabilities.values())
        return all(math.isfinite(v) for v in values) and abs(sum(values) - 1) < 1e-3

    def predict(self, texts: list[str]) -> list[Prediction]:
        """Predictions in input order; texts run in length-sorted, padded mini-batches (`mini_batches`)."""
        if not texts:
            return []
        encoded = encode_batch(self.tokenizer, texts)
        probabilities = np.empty((len(texts), len(self.labels)), dtype=np.float32)
        for idx in mini_batches([len(e.ids) for e in encoded], self.batch_size, self.batch_tokens):
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


def get_model(settings: Settings | None = None) -> SentimentModel:
    """The process-wide model, loaded on first use (at init: handlers call it at import)."""
    settings = settings or current()
    return _load(
        settings.model_dir,
        settings.inference_threads,
        settings.batch_size,
        settings.batch_tokens,
        settings.verify_model_sha256,
    )


@functools.cache  # keyed on what shapes the model only, so settings that differ elsewhere share it
def _load(model_dir: Path, threads: int, batch_size: int, batch_tokens: int, verify: bool) -> SentimentModel:
    started = time.perf_counter()
    try:
        model = SentimentModel(model_dir, threads, batch_size, verify=verify, batch_tokens=batch_tokens)
    except ModelLoadError as error:
        # The one line to look for when a function fails at init; the exception then stops the init.
        log.critical("model failed to load: %s", error)
        raise
    log.info(
        "model loaded",
        extra={
            "model_version": model.version,
            "model_sha256": model.sha256,
            "manifest_sha256": model.manifest_sha256,
            "model_registry": model.registry["uri"] if model.registry else "repo",
            "load_ms": round((time.perf_counter() - started) * 1000, 1),
            "threads": model.threads,
        },
    )
    return model
