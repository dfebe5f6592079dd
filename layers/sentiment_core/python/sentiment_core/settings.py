"""Every environment variable the service reads, read here and only here, into one frozen object.

A process builds it once (`current()`, at a handler's init: see adapters/startup.py); each default
sits next to the reason for it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

LAMBDA_MB_PER_VCPU = 1769  # Lambda grants one full vCPU at 1,769 MB, proportionally less below
DEFAULT_LOW_CONFIDENCE = 0.7  # below this a prediction counts as low-confidence (a metric, not an error)
# Must equal the job queue's redrive maxReceiveCount: the last attempt records why the job failed.
DEFAULT_MAX_RECEIVE_COUNT = 3
DEFAULT_UPLOAD_MAX_BYTES = 100 * 1024 * 1024  # the largest file a browser upload may send (UploadMaxBytes)
# Owner caps on one CSV file (template parameters MaxFile*, MaxExpansionRatio; docs/batch.md says what
# each default allows). 1,000,000 IMDB-length rows are estimated at about $0.94 to score.
DEFAULT_MAX_FILE_BYTES = 2 * 1024**3
DEFAULT_MAX_FILE_ROWS = 1_000_000
DEFAULT_MAX_FILE_COST_USD = 1.0
DEFAULT_MAX_EXPANSION_RATIO = 100  # CSV text compresses 3 to 10 times; 100 is a decompression bomb
DEFAULT_FANOUT_MIN_BYTES = 1024 * 1024  # the template's FanoutMinBytes
IMAGE_MODEL_DIR = Path("/opt/model")  # where the image puts the model layer
IMAGE_SHADOW_MODEL_DIR = Path("/opt/shadow-model")  # the shadow candidate, when the image carries one
REPO_MODEL_DIR = Path(__file__).resolve().parents[3] / "sentiment_model" / "model"


@dataclass(frozen=True)
class Settings:
    model_dir: Path
    inference_threads: int
    verify_model_sha256: bool  # off only to measure what the check costs
    low_confidence_threshold: float
    jobs_table: str = ""  # the job resources: set for the API and the worker only
    data_bucket: str = ""
    jobs_queue_url: str = ""
    idempotency_table: str = ""
    max_receive_count: int = DEFAULT_MAX_RECEIVE_COUNT
    event_bus_name: str = ""  # where finished files and jobs are announced (functions/events.py)
    # The function's memory, which prices its seconds; outside Lambda, one vCPU's worth.
    lambda_memory_mb: int = LAMBDA_MB_PER_VCPU
    cors_allowed_origins: str = ""  # comma-separated browser origins (functions/api/cors.py); "" = no CORS
    # Shadow scoring (docs/deploy.md): the API sends this share of /predict requests to the queue; the
    # shadow function scores them with the candidate in shadow_model_dir, which must be that version.
    shadow_queue_url: str = ""  # "" = shadowing off
    shadow_sample_rate: float = 0.0
    shadow_model_dir: Path = IMAGE_SHADOW_MODEL_DIR
    shadow_model_version: str = ""
    # Who may call the API (the template's ApiAuthorizer): with NONE, uploads are open to anyone, so the
    # upload routes answer only when allow_anonymous_uploads says so (functions/api/files.py).
    api_authorizer: str = "NONE"
    allow_anonymous_uploads: bool = False
    upload_max_bytes: int = DEFAULT_UPLOAD_MAX_BYTES
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES  # a CSV's bytes (a .csv.gz's expanded)
    max_file_rows: int = DEFAULT_MAX_FILE_ROWS
    max_file_cost_usd: float = DEFAULT_MAX_FILE_COST_USD  # the fan-out's estimate, checked before the Map
    max_expansion_ratio: float = DEFAULT_MAX_EXPANSION_RATIO  # a .csv.gz's expanded / compressed bytes
    fanout_min_bytes: int = DEFAULT_FANOUT_MIN_BYTES  # a .csv.gz expanding to this goes to the fan-out
    fanout_state_machine_arn: str = ""  # where the batch function hands a file it cannot finish

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            model_dir=_model_dir(env),
            inference_threads=_inference_threads(env),
            verify_model_sha256=env.get("VERIFY_MODEL_SHA256", "true").lower() not in ("0", "false", "no"),
            low_confidence_threshold=float(env.get("LOW_CONFIDENCE_THRESHOLD") or DEFAULT_LOW_CONFIDENCE),
            jobs_table=env.get("JOBS_TABLE", ""),
            data_bucket=env.get("DATA_BUCKET", ""),
            jobs_queue_url=env.get("JOBS_QUEUE_URL", ""),
            idempotency_table=env.get("IDEMPOTENCY_TABLE", ""),
            max_receive_count=int(env.get("MAX_RECEIVE_COUNT") or DEFAULT_MAX_RECEIVE_COUNT),
            event_bus_name=env.get("EVENT_BUS_NAME", ""),
            lambda_memory_mb=int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") or LAMBDA_MB_PER_VCPU),
            cors_allowed_origins=env.get("CORS_ALLOWED_ORIGINS", ""),
            shadow_queue_url=env.get("SHADOW_QUEUE_URL", ""),
            shadow_sample_rate=min(1.0, max(0.0, float(env.get("SHADOW_SAMPLE_RATE") or 0))),
            shadow_model_dir=Path(env.get("SHADOW_MODEL_DIR") or IMAGE_SHADOW_MODEL_DIR),
            shadow_model_version=env.get("SHADOW_MODEL_VERSION", ""),
            api_authorizer=(env.get("API_AUTHORIZER") or "NONE").upper(),
            allow_anonymous_uploads=env.get("ALLOW_ANONYMOUS_UPLOADS", "").lower() in ("1", "true", "yes"),
            upload_max_bytes=int(env.get("UPLOAD_MAX_BYTES") or DEFAULT_UPLOAD_MAX_BYTES),
            max_file_bytes=int(env.get("MAX_FILE_BYTES") or DEFAULT_MAX_FILE_BYTES),
            max_file_rows=int(env.get("MAX_FILE_ROWS") or DEFAULT_MAX_FILE_ROWS),
            max_file_cost_usd=float(env.get("MAX_FILE_COST_USD") or DEFAULT_MAX_FILE_COST_USD),
            max_expansion_ratio=float(env.get("MAX_EXPANSION_RATIO") or DEFAULT_MAX_EXPANSION_RATIO),
            fanout_min_bytes=int(env.get("FANOUT_MIN_BYTES") or DEFAULT_FANOUT_MIN_BYTES),
            fanout_state_machine_arn=env.get("FANOUT_STATE_MACHINE_ARN", ""),
        )


@functools.cache
def current() -> Settings:
    """This process's settings: Lambda fixes the environment for the life of the execution environment."""
    return Settings.from_env()


def _model_dir(env: Mapping[str, str]) -> Path:
    """$MODEL_DIR, else the model layer in the image, else the repo's copy."""
    if env.get("MODEL_DIR"):
        return Path(env["MODEL_DIR"])
    return IMAGE_MODEL_DIR if IMAGE_MODEL_DIR.is_dir() else REPO_MODEL_DIR


def _inference_threads(env: Mapping[str, str]) -> int:
    """$INFERENCE_THREADS, else the CPU share Lambda really grants, else the usable cores.

    Lambda reports 2 vCPUs below 1,769 MB but throttles to memory/1,769 of one,
    so a second intra-op thread there only adds contention.
    """
    if env.get("INFERENCE_THREADS"):
        return max(1, int(env["INFERENCE_THREADS"]))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    memory = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    if memory:
        return max(1, min(cores, int(memory) // LAMBDA_MB_PER_VCPU))
    return cores
