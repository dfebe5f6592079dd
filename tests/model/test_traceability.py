"""What runs can be traced to its artifact: /health, the init log lines and every EMF line name it."""

from __future__ import annotations

import hashlib
import io
import json
import logging

from sentiment_core import settings
from sentiment_core.adapters.telemetry import log_model_ready
from sentiment_core.model import _load
from tests.helpers import context, emf_lines, load_event

MODEL_DIR = settings.current().model_dir


def expected_identity() -> tuple[str, str, str]:
    manifest_bytes = (MODEL_DIR / "manifest.json").read_bytes()
    manifest = json.loads(manifest_bytes)
    return (
        manifest["version"],
        manifest["files"]["model.onnx"]["sha256"],
        hashlib.sha256(manifest_bytes).hexdigest(),
    )


def health(api) -> dict:
    response = api.lambda_handler(load_event("api_health.json"), context("api"))
    assert response["statusCode"] == 200
    return json.loads(response["body"])


def test_health_names_version_sha256_and_manifest(api):
    version, sha256, manifest_sha256 = expected_identity()
    body = health(api)
    assert body["model"]["version"] == version
    assert body["sha256"] == sha256
    assert body["manifest_sha256"] == manifest_sha256
    assert body["registry"] is None  # built from the repo's copy


def test_health_names_the_registry_entry_of_a_fetched_artifact(api, monkeypatch):
    entry = {
        "uri": "s3://artifacts/models/imdb-minilm-sentiment/9.9.9/",
        "version": "9.9.9",
        "manifest_sha256": "ab" * 32,
        "approved": True,
    }
    monkeypatch.setattr(api.model, "registry", entry)
    assert health(api)["registry"] == entry


def test_every_emf_line_carries_the_model_sha256(api, capsys):
    _, sha256, _ = expected_identity()
    capsys.readouterr()
    api.lambda_handler(load_event("api_predict_one.json"), context("api"))
    blobs = [b for b in emf_lines(capsys.readouterr().out) if "ColdStart" not in b]
    assert blobs and all(b["model_sha256"] == sha256 for b in blobs)
    for blob in blobs:  # a property, not a dimension: the metric identities stay as they were
        (directive,) = blob["_aws"]["CloudWatchMetrics"]
        assert "model_sha256" not in directive["Dimensions"][0]


def test_init_log_lines_name_the_artifact(api, monkeypatch, caplog):
    version, sha256, manifest_sha256 = expected_identity()
    log = io.StringIO()
    monkeypatch.setattr(api.logger.registered_handler, "stream", log)
    log_model_ready(api.logger, api.model)
    (ready,) = [json.loads(line) for line in log.getvalue().splitlines()]
    assert ready["message"] == "model ready"
    assert (ready["model_version"], ready["model_sha256"]) == (version, sha256)
    assert ready["manifest_sha256"] == manifest_sha256 and ready["model_registry"] == "repo"

    with caplog.at_level(logging.INFO, logger="sentiment_core.model"):
        config = settings.current()  # the uncached loader: what every function runs at init
        _load.__wrapped__(config.model_dir, config.inference_threads, True)
    (loaded,) = [r for r in caplog.records if r.getMessage() == "model loaded"]
    assert (loaded.model_version, loaded.model_sha256, loaded.manifest_sha256) == (
        version,
        sha256,
        manifest_sha256,
    )
