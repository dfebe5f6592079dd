"""The inference core: one tokenizer and ONNX session per process, used by every function."""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from sentiment_core import manifest
from sentiment_core.linear import LinearModel, LinearModelError
from sentiment_core.preprocess import (
    HEAD_TOKENS,
    TAIL_TOKENS,
    Encoded,
    encode_batch,
    prepare_tokenizer,
    unread_range,
)
from sentiment_core.settings import Settings, current

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
    linear_ms: float
    session_ms: float
    verify_ms: float


def session_options() -> ort.SessionOptions:
    """One thread inside a run, so a text's arithmetic never depends on the thread count;
    parallelism comes from running several texts at once (see `SentimentModel.predict`)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return options


def logits_alone(session: ort.InferenceSession, encoded: Encoded) -> np.ndarray:
    """Logits of one text, run alone and unpadded: dynamic int8 quantization then scales
    activations on this text only, so they depend on nothing but the text and the model.
    The training side evaluates with this too, so its figures are the served model's."""
    ids = np.array([encoded.ids], dtype=np.int64)
    return session.run(["logits"], {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0]


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Blend:
    """Log-odds of positive = transformer's (logit_positive - logit_negative) + weight * linear + bias."""

    linear: LinearModel
    weight: float
    bias: float

    @classmethod
    def load(cls, model_dir: Path, spec: dict) -> Blend:
        return cls(LinearModel.load(model_dir, spec["linear"]), float(spec["weight"]), float(spec["bias"]))

    def probabilities(self, logits: np.ndarray, pieces: tuple[int, ...]) -> list[float]:
        """[negative, positive], as the labels are ordered."""
        log_odds = float(logits[1] - logits[0]) + self.weight * self.linear.decision(pieces) + self.bias
        positive = 0.5 * (1.0 + math.tanh(0.5 * log_odds))  # the logistic function, without overflow
        return [1.0 - positive, positive]


class SentimentModel:
    def __init__(
        self,
        model_dir: Path,
        threads: int,
        verify: bool = True,
    ) -> None:
        self.load_started_at = time.time()
        started = time.perf_counter()
        # The checksums come before either file is parsed: a tampered artifact never reaches a parser.
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
        try:  # a transformer-only artifact (1.1.0 and before) has no blend
            self.blend = Blend.load(model_dir, self.manifest["blend"]) if "blend" in self.manifest else None
        except (LinearModelError, OSError, ValueError, KeyError, TypeError) as error:
            raise ModelLoadError(f"the blend's linear model could not be loaded: {error}") from None
        linear_loaded = time.perf_counter()
        try:
            self.session = ort.InferenceSession(
                str(model_dir / "model.onnx"), session_options(), providers=["CPUExecutionProvider"]
            )
        except Exception as error:
            raise ModelLoadError(f"model.onnx could not be loaded: {error}") from None
        self.load_timings = LoadTimings(
            verify_ms=(verified - started) * 1000,
            tokenizer_ms=(tokenized - verified) * 1000,
            linear_ms=(linear_loaded - tokenized) * 1000,
            session_ms=(time.perf_counter() - linear_loaded) * 1000,
        )
        self.load_finished_at = time.time()
        self.threads = threads
        # onnxruntime releases the GIL inside run(), so these threads score texts truly in parallel.
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="inference") if threads > 1 else None
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

    def _probabilities(self, encoded: Encoded) -> list[float]:
        logits = logits_alone(self.session, encoded)
        if self.blend is not None:
            return self.blend.probabilities(logits, encoded.pieces)
        return _softmax(logits[None])[0].tolist()

    def unread_range(self, text: str) -> tuple[int, int] | None:
        """The characters of `text` as sent that no part of the model reads (None: it reads them all).

        The transformer alone reads the head and tail of a long review. The blend's linear n-gram
        model reads every word piece, so with a blend every character counts and this is None.
        """
        if self.blend is not None:
            return None
        return unread_range(self.tokenizer, text)

    def predict(self, texts: list[str]) -> list[Prediction]:
        """Predictions in input order; each text runs alone, `threads` texts at a time."""
        if not texts:
            return []
        encoded = encode_batch(self.tokenizer, texts)
        if self._pool is None or len(encoded) == 1:
            probabilities = [self._probabilities(e) for e in encoded]
        else:
            probabilities = list(self._pool.map(self._probabilities, encoded))
        predictions = []
        for enc, probs in zip(encoded, probabilities, strict=True):
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


ModelKey = tuple[Path, int, bool]  # what shapes the model only: settings that differ elsewhere share it
# One load per key, begun by preload() or else by the first get_model, which then waits for it.
_loads: dict[ModelKey, Future[SentimentModel]] = {}


def _key(settings: Settings) -> ModelKey:
    return settings.model_dir, settings.inference_threads, settings.verify_model_sha256


def preload(settings: Settings | None = None) -> None:
    """Begin loading the model in a background thread, for get_model to take over.

    A handler calls this before its other imports: the checksums and the ONNX session set-up run
    outside the GIL, so with a second core they overlap those imports. A failure waits for
    get_model to raise and log it, so an init fails exactly as it would without this.
    """
    _begin(_key(settings or Settings.from_env()))


def _begin(key: ModelKey) -> Future[SentimentModel]:
    if key not in _loads:
        future: Future[SentimentModel] = Future()

        def load() -> None:
            try:
                future.set_result(SentimentModel(*key))
            except BaseException as error:  # handed to get_model, which raises it in the caller's thread
                future.set_exception(error)

        # Not a daemon: an interpreter exiting mid-load waits for onnxruntime instead of cutting it off.
        threading.Thread(target=load, name="model-load").start()
        _loads[key] = future
    return _loads[key]


def get_model(settings: Settings | None = None) -> SentimentModel:
    """The process-wide model, loaded on first use (at init: handlers call it at import)."""
    return _load(*_key(settings or current()))


@functools.cache
def _load(model_dir: Path, threads: int, verify: bool) -> SentimentModel:
    key = (model_dir, threads, verify)
    try:
        model = _begin(key).result()
    except BaseException as error:
        del _loads[key]  # the next get_model tries afresh
        if isinstance(error, ModelLoadError):
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
            "load_ms": round((model.load_finished_at - model.load_started_at) * 1000, 1),
            "threads": model.threads,
        },
    )
    return model
