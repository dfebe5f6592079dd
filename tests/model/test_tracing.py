"""X-Ray: the model load and the inference are subsegments of their own."""

from __future__ import annotations

import pytest
from aws_xray_sdk import global_sdk_config
from aws_xray_sdk.core import xray_recorder

from sentiment_core.adapters import telemetry
from sentiment_core.model import get_model


@pytest.fixture
def segment(monkeypatch):
    monkeypatch.setattr(telemetry, "_model_load_traced", False)
    global_sdk_config.set_sdk_enabled(True)  # the test settings switch tracing off
    segment = xray_recorder.begin_segment("test-invocation")
    yield segment
    xray_recorder.clear_trace_entities()  # nothing is sent to a daemon
    global_sdk_config.set_sdk_enabled(False)


def test_model_load_is_a_subsegment_of_the_first_invocation_only(segment):
    model = get_model()
    telemetry.trace_model_load(model)
    telemetry.trace_model_load(model)
    (load,) = [s for s in segment.subsegments if s.name == "## model_load"]
    assert load.start_time == model.load_started_at and load.end_time == model.load_finished_at
    assert load.metadata["default"]["load_ms"]["session_ms"] > 0


def test_inference_is_a_subsegment(segment):
    from aws_lambda_powertools import Metrics

    telemetry.MeteredModel(get_model(), Metrics(namespace="Test"), 0.7).predict(["Loved it."])
    (inference,) = [s for s in segment.subsegments if s.name == "## inference"]
    assert inference.end_time >= inference.start_time
