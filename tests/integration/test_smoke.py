"""The pipeline's smoke test (scripts/smoke_test.py), run against the local run as against a deployment."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sentiment_core import settings

REPO = Path(__file__).resolve().parents[2]


def smoke(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "smoke_test.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_smoke_test_passes_against_the_local_run(local_run):
    manifest = json.loads((settings.current().model_dir / "manifest.json").read_text())
    sha256 = manifest["files"]["model.onnx"]["sha256"]
    result = smoke("--api-url", local_run.url, "--expect-sha256", sha256)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:4]] == [
        "ok    health",
        "ok    predict",
        "ok    bad request",
        "ok    job",
    ]
    assert f"sha256 {sha256[:12]}" in lines[0] and "4 known reviews answered correctly" in lines[1]
    assert lines[-1].endswith("passed")


def test_smoke_test_fails_when_another_model_is_served(local_run):
    result = smoke("--api-url", local_run.url, "--expect-sha256", "0" * 64, "--no-jobs")
    assert result.returncode == 1
    assert "FAIL  health: /health serves model sha256" in result.stdout
