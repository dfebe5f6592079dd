"""The fast tier: the handlers on moto, serving the deterministic fake model; no ONNX session at all."""

from unittest import mock

import pytest

from tests.fakes import FakeModel
from tests.helpers import handler_fixtures

aws, handlers, api, worker, batch = handler_fixtures(FakeModel)


@pytest.fixture(scope="package", autouse=True)
def no_onnx_session():
    refusal = AssertionError("the fast tier runs without the ONNX model: use tests/fakes.py, or tests/model")
    with mock.patch("onnxruntime.InferenceSession", side_effect=refusal):
        yield
