"""X-Ray: the model load and the inference are subsegments of their own."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from aws_lambda_powertools import Metrics, Tracer
from aws_xray_sdk import global_sdk_config
from aws_xray_sdk.core import xray_recorder

from sentiment_core.adapters import telemetry
from sentiment_core.model import get_model


@pytest.fixture
def tracer(monkeypatch) -> Tracer:
    """A tracer on Powertools' X-Ray provider (what Lambda with tracing on gets), the SDK enabled below."""
    monkeypatch.setattr(Tracer, "_config", dict(Tracer._config, provider=None))
    return Tracer(service="test")


@pytest.fixture
def segment(monkeypatch, tracer):
    monkeypatch.setattr(telemetry, "_model_load_traced", False)
    global_sdk_config.set_sdk_enabled(True)  # the test settings switch tracing off
    segment = xray_recorder.begin_segment("test-invocation")
    yield segment
    xray_recorder.clear_trace_entities()  # nothing is sent to a daemon
    global_sdk_config.set_sdk_enabled(False)


def test_model_load_is_a_subsegment_of_the_first_invocation_only(segment, tracer):
    model = get_model()
    telemetry.trace_model_load(tracer, model)
    telemetry.trace_model_load(tracer, model)
    (load,) = [s for s in segment.subsegments if s.name == "## model_load"]
    assert load.start_time == model.load_started_at and load.end_time == model.load_finished_at
    assert load.metadata["default"]["load_ms"]["session_ms"] > 0


def test_inference_is_a_subsegment(segment, tracer):
    telemetry.MeteredModel(get_model(), Metrics(namespace="Test"), tracer, 0.7).predict(["Loved it."])
    (inference,) = [s for s in segment.subsegments if s.name == "## inference"]
    assert inference.end_time >= inference.start_time


def test_untraced_runs_load_no_xray_sdk():
    code = "\n".join(
        [
            "import sys",
            "from sentiment_core.adapters.telemetry import make_tracer",
            "with make_tracer('api').provider.in_subsegment('## x') as s:",
            "    s.put_annotation('k', 1)",
            "print('aws_xray_sdk.core' in sys.modules)",
        ]
    )
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
