"""What a user would otherwise serve, for side-by-side timings: PyTorch, fp32 ONNX, TF-IDF.

The fine-tuned weights come from the model pipeline's work directory when `make model`
ran here; otherwise the base model with a fresh classification head stands in. The
architecture, and so the speed, is the same either way: the report says which was used.
"""

from __future__ import annotations

import logging
from pathlib import Path

from model_export import settings as pipeline
from model_export.data import load_reviews, train_validation_split
from model_export.export import export_fused
from model_export.modeling import base_model_path
from sentiment_core.preprocess import clean_text

BENCH_DIR = pipeline.REPO_ROOT / "build" / "bench"
TFIDF_TRAIN_REVIEWS = 10_000

log = logging.getLogger(__name__)


def pytorch_model(attn_implementation: str | None = None):
    """(model, source): transformers' AutoModelForSequenceClassification, the usual way to serve it."""
    from transformers import AutoModelForSequenceClassification

    trained = pipeline.TRAINED_DIR / "best"
    source = trained if trained.is_dir() else base_model_path()
    kwargs = {"attn_implementation": attn_implementation} if attn_implementation else {}
    model = AutoModelForSequenceClassification.from_pretrained(source, num_labels=2, **kwargs).eval()
    return model, "fine-tuned (build/model)" if trained.is_dir() else "base weights, untrained head"


def fp32_onnx() -> tuple[Path, str]:
    """The pipeline's fused fp32 ONNX model, or one exported the same way from `pytorch_model`."""
    if pipeline.ONNX_FP32_OPTIMIZED.is_file():
        return pipeline.ONNX_FP32_OPTIMIZED, "fine-tuned (build/model)"
    model, source = pytorch_model(attn_implementation="eager")
    optimized = BENCH_DIR / "fp32.opt.onnx"
    if not optimized.is_file():
        export_fused(model, BENCH_DIR / "fp32.onnx", optimized)
    return optimized, source


def _normalise(text: str) -> str:
    return clean_text(text).lower()


def tfidf_classifier():
    """TF-IDF word 1-2 grams + logistic regression, as in the model's evaluation, on part of train."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    train, _ = train_validation_split(load_reviews(pipeline.TRAIN_CSV))
    train = train[:: max(1, len(train) // TFIDF_TRAIN_REVIEWS)]
    classifier = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, preprocessor=_normalise),
        LogisticRegression(C=4.0, max_iter=2000),
    )
    return classifier.fit([r.text for r in train], [r.label for r in train])
