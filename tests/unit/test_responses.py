"""The plain response fields (what the worker stores) are exactly the documented response shapes."""

from __future__ import annotations

from sentiment_core.responses import model_fields, prediction_fields
from sentiment_core.schemas import ModelInfo, PredictionOut
from tests.fakes import FakeModel


def test_prediction_fields_are_a_valid_prediction_out():
    model = FakeModel()
    for prediction in model.predict(["Loved it.", "Boring.", ""]):
        fields = prediction_fields(prediction)
        assert PredictionOut.model_validate(fields).model_dump() == fields


def test_model_fields_are_a_valid_model_info():
    fields = model_fields(FakeModel())
    assert (
        ModelInfo.model_validate(fields).model_dump()
        == fields
        == {"name": "fake-sentiment", "version": "0.0.0-test"}
    )
