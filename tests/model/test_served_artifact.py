"""The committed model fetched through the registry, loaded by the core, which names where it came from."""

from __future__ import annotations

import json

from model_registry.registry import Registry
from sentiment_core import settings
from sentiment_core.model import SentimentModel
from tests.helpers import versioned_bucket


def test_the_served_artifact_reports_where_it_came_from(aws, tmp_path):
    registry = Registry(versioned_bucket("registry"))
    """The repo's model through the registry: the core loads it and reports the registry entry."""
    repo_model = settings.current().model_dir
    entry = registry.publish(repo_model)
    registry.approve(entry.name, entry.version)
    dest = tmp_path / "registry-model"
    registry.fetch(entry.name, "approved", dest)
    model = SentimentModel(dest, threads=1)
    manifest = json.loads((repo_model / "manifest.json").read_text())
    assert model.sha256 == manifest["files"]["model.onnx"]["sha256"]
    assert model.manifest_sha256 == entry.manifest_sha256
    assert model.registry == {
        "uri": entry.uri,
        "version": entry.version,
        "manifest_sha256": entry.manifest_sha256,
        "approved": True,
    }
    assert model.predict(["A wonderful, moving film."])[0].label == "positive"
