"""Serving settings, read from the environment once."""

from __future__ import annotations

import os
from pathlib import Path

LAMBDA_MB_PER_VCPU = 1769  # Lambda grants one full vCPU at 1,769 MB, proportionally less below


def model_dir() -> Path:
    """$MODEL_DIR, else the model layer at /opt/model (the image), else the repo's copy."""
    if "MODEL_DIR" in os.environ:
        return Path(os.environ["MODEL_DIR"])
    opt = Path("/opt/model")
    if opt.is_dir():
        return opt
    return Path(__file__).resolve().parents[3] / "sentiment_model" / "model"


def inference_threads() -> int:
    """$INFERENCE_THREADS, else the CPU share Lambda really grants, else the usable cores.

    Lambda reports 2 vCPUs below 1,769 MB but throttles to memory/1,769 of one,
    so a second intra-op thread there only adds contention.
    """
    if os.environ.get("INFERENCE_THREADS"):
        return max(1, int(os.environ["INFERENCE_THREADS"]))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    memory = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    if memory:
        return max(1, min(cores, int(memory) // LAMBDA_MB_PER_VCPU))
    return cores


def verify_model_checksums() -> bool:
    return os.environ.get("VERIFY_MODEL_SHA256", "true").lower() not in ("0", "false", "no")


LOW_CONFIDENCE_THRESHOLD = float(os.environ.get("LOW_CONFIDENCE_THRESHOLD", "0.7"))
