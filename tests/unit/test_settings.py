"""The one settings module: every variable read there, from one environment, with its default."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pytest

from sentiment_core import settings
from sentiment_core.settings import Settings

REPO = Path(__file__).resolve().parents[2]
SETTINGS_MODULE = REPO / "layers/sentiment_core/python/sentiment_core/settings.py"
# Deployed as its own zip without the core layer (template.yaml CodeUri), so it cannot import the settings.
OWN_PACKAGE = REPO / "functions/pretraffic/app.py"
READS = re.compile(r"\bos\.(environ|getenv)\b|\bgetenv\(|from os import .*\b(environ|getenv)\b")


def test_no_environment_read_outside_the_settings_module():
    readers = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for folder in ("functions", "layers")
        for path in sorted((REPO / folder).rglob("*.py"))
        if path not in (SETTINGS_MODULE, OWN_PACKAGE)
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if READS.search(line)
    ]
    assert readers == []


def test_the_check_finds_a_read():
    assert READS.search('table = os.environ["JOBS_TABLE"]') and READS.search("os.getenv('X')")


def test_defaults_without_any_variable(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1}, raising=False)
    config = Settings.from_env({})
    assert config.verify_model_sha256 and config.low_confidence_threshold == 0.7
    assert config.max_receive_count == 3 and config.jobs_table == ""
    assert config.model_dir in (settings.IMAGE_MODEL_DIR, settings.REPO_MODEL_DIR)


def test_every_variable_is_read():
    config = Settings.from_env(
        {
            "MODEL_DIR": "/m",
            "INFERENCE_THREADS": "3",
            "VERIFY_MODEL_SHA256": "false",
            "LOW_CONFIDENCE_THRESHOLD": "0.9",
            "JOBS_TABLE": "jobs",
            "DATA_BUCKET": "data",
            "JOBS_QUEUE_URL": "https://queue",
            "IDEMPOTENCY_TABLE": "idem",
            "MAX_RECEIVE_COUNT": "5",
            "EVENT_BUS_NAME": "bus",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "3008",
            "CORS_ALLOWED_ORIGINS": "https://app.example.com",
            "SHADOW_QUEUE_URL": "https://shadow",
            "SHADOW_SAMPLE_RATE": "0.25",
            "SHADOW_MODEL_DIR": "/candidate",
            "SHADOW_MODEL_VERSION": "1.2.0",
            "API_AUTHORIZER": "jwt",
            "ALLOW_ANONYMOUS_UPLOADS": "true",
            "UPLOAD_MAX_BYTES": "1000",
            "MAX_FILE_BYTES": "1000",
            "MAX_FILE_ROWS": "10",
            "MAX_FILE_COST_USD": "0.5",
            "MAX_EXPANSION_RATIO": "20",
            "FANOUT_MIN_BYTES": "4096",
            "FANOUT_STATE_MACHINE_ARN": "arn:sm",
        }
    )
    assert dataclasses.astuple(config) == (
        Path("/m"), 3, False, 0.9, "jobs", "data", "https://queue", "idem", 5, "bus", 3008,
        "https://app.example.com", "https://shadow", 0.25, Path("/candidate"), "1.2.0", "JWT", True, 1000,
        1000, 10, 0.5, 20.0, 4096, "arn:sm",
    )  # fmt: skip


@pytest.mark.parametrize(("given", "rate"), [("", 0.0), ("-1", 0.0), ("0.1", 0.1), ("7", 1.0)])
def test_the_shadow_sample_rate_is_a_share(given, rate):
    assert Settings.from_env({"SHADOW_SAMPLE_RATE": given}).shadow_sample_rate == rate


def test_settings_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings.from_env({}).inference_threads = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    "memory,cores,expected", [("1024", 2, 1), ("3008", 2, 1), ("3538", 2, 2), ("10240", 6, 5)]
)
def test_threads_follow_lambda_cpu_share(monkeypatch, memory, cores, expected):
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(cores)))
    assert Settings.from_env({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": memory}).inference_threads == expected


def test_threads_setting_wins():
    env = {"INFERENCE_THREADS": "3", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"}
    assert Settings.from_env(env).inference_threads == 3
