"""A broken model artifact fails every function at init with one clear line; a loaded model that
cannot predict is reported unhealthy."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from local_run.lambda_context import LocalLambdaContext
from sentiment_core import settings
from sentiment_core.model import ModelLoadError, Prediction, SentimentModel
from tests.helpers import REPO, load_event


def copy_artifact(target: Path, source: Path | None = None) -> Path:
    source = source or settings.current().model_dir
    for name in ["manifest.json", *json.loads((source / "manifest.json").read_text())["files"]]:
        (target / name).write_bytes((source / name).read_bytes())
    return target


IMPORT_EACH = """
import importlib, sys
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception as error:
        print(f"{name}: init failed: {type(error).__name__}", flush=True)
    else:
        print(f"{name}: serving", flush=True)
"""
HANDLERS = ["functions.api.app", "functions.worker.app", "functions.batch.app"]


def init_functions(model_dir: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "MODEL_DIR": str(model_dir),
        "IDEMPOTENCY_TABLE": "t",
        "JOBS_TABLE": "t",
        "DATA_BUCKET": "b",
    }
    return subprocess.run(
        [sys.executable, "-c", IMPORT_EACH, *HANDLERS],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("damage", ["corrupt", "missing"])
def test_every_function_fails_at_init_with_one_clear_log_line(tmp_path, damage):
    artifact = copy_artifact(tmp_path)
    if damage == "corrupt":
        with open(artifact / "model.onnx", "r+b") as f:
            f.seek(4096)
            f.write(b"\xde\xad\xbe\xef")
        reason = "model.onnx does not match its sha256 in the manifest"
    else:
        (artifact / "model.onnx").unlink()
        reason = "model.onnx is missing"
    result = init_functions(artifact)
    assert result.stdout.splitlines() == [f"{name}: init failed: ModelLoadError" for name in HANDLERS]
    failures = [line for line in result.stderr.splitlines() if "model failed to load: model artifact" in line]
    assert len(failures) == len(HANDLERS) and all(reason in line for line in failures), result.stderr
    assert "model ready" not in result.stdout + result.stderr  # the health line is never reached


def test_an_unreadable_model_fails_clearly_even_without_checksums(tmp_path):
    artifact = copy_artifact(tmp_path)
    (artifact / "model.onnx").write_bytes(b"not an onnx graph")
    with pytest.raises(ModelLoadError, match=r"model\.onnx could not be loaded"):
        SentimentModel(artifact, threads=1, verify=False)
    (artifact / "manifest.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="manifest is not JSON"):
        SentimentModel(artifact, threads=1)


def health(api) -> tuple[int, dict]:
    event = load_event("api_health.json")
    response = api.lambda_handler(event, LocalLambdaContext(function_name="api"))
    return response["statusCode"], json.loads(response["body"])


def test_health_is_503_when_the_loaded_model_cannot_predict(api, monkeypatch):
    assert health(api)[0] == 200

    def broken(_texts: list[str]) -> list[Prediction]:
        raise RuntimeError("onnxruntime session lost")

    monkeypatch.setattr(api.model, "predict", broken)
    status, body = health(api)
    assert status == 503 and body["error"] == "model not serving" and "status" not in body

    nan = Prediction("positive", math.nan, {"negative": math.nan, "positive": math.nan}, False, 3)
    monkeypatch.setattr(api.model, "predict", lambda texts: [nan] * len(texts))
    assert health(api)[0] == 503
