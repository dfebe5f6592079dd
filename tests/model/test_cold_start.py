"""What a cold start runs: the model loads beside the handler's imports, and /predict's first answer
needs neither the OpenAPI models (only /docs and /openapi.json do) nor boto3 (only the jobs do)."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys

import pytest

from sentiment_core import model as model_module
from sentiment_core import settings
from sentiment_core.model import ModelLoadError, get_model, preload
from tests.helpers import REPO

FIRST_PREDICT = """
import json, sys
from local_run.lambda_context import LocalLambdaContext
import functions.api.app as api
event = json.loads(open("events/api_predict_one.json").read())
response = api.lambda_handler(event, LocalLambdaContext(function_name="api"))
first = {"status": response["statusCode"],
         "openapi_models": "aws_lambda_powertools.event_handler.openapi.models" in sys.modules,
         "boto3": "boto3" in sys.modules}
# Then the UI, first asked for under a named stage (its path as API Gateway sends it).
docs = json.loads(open("events/api_health.json").read())
docs["requestContext"]["stage"] = "prod"
docs["rawPath"] = docs["requestContext"]["http"]["path"] = "/prod/docs"
response = api.lambda_handler(docs, LocalLambdaContext(function_name="api"))
print(json.dumps({**first, "docs": response["statusCode"]}))
"""


def test_the_first_predict_loads_no_openapi_models_and_no_boto3_and_docs_follow_when_asked():
    env = {
        **os.environ,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "ImdbSentiment",
        "INFERENCE_THREADS": "1",
    }
    out = subprocess.run(
        [sys.executable, "-c", FIRST_PREDICT], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout.splitlines()[-1]) == {
        "status": 200,
        "openapi_models": False,
        "boto3": False,
        "docs": 200,
    }


def test_get_model_serves_the_preloaded_model_without_loading_again(monkeypatch):
    built = []
    real = model_module.SentimentModel

    def counted(*args):
        built.append(args)
        return real(*args)

    monkeypatch.setattr(model_module, "SentimentModel", counted)
    # A key no other test loads (checksums off), so this load is this test's own.
    config = dataclasses.replace(settings.current(), verify_model_sha256=False)
    preload(config)
    assert get_model(config) is get_model(config)
    assert len(built) == 1


def test_a_failed_preload_is_raised_and_logged_by_get_model_once_per_attempt(tmp_path, caplog):
    config = dataclasses.replace(settings.current(), model_dir=tmp_path)  # no artifact there
    preload(config)
    for _ in range(2):  # a failure is not kept: each get_model tries afresh, as a new init would
        caplog.clear()
        with (
            caplog.at_level(logging.INFO, logger="sentiment_core.model"),
            pytest.raises(ModelLoadError, match=r"no manifest\.json"),
        ):
            get_model(config)
        assert [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL] == [
            f"model failed to load: model artifact unusable: {tmp_path}: no manifest.json"
        ]
